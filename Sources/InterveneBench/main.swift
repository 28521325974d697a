import Foundation
import Models
import Tensors

/// `intervene-bench WORKLOAD [--reps N]`: measures one workload of ../shared/bench/WORKLOADS.md
/// and prints one JSON object. Build with `-c release`.
let usage = """
usage: intervene-bench WORKLOAD [--reps N] [--dequantize]
workloads: engine, gpt2_forward, generation, mlp_das_epoch, boundless_step, import, gguf_load (GGUF_FILE=…),
           gguf_decode [--dequantize] (GGUF_FILE=…), quant_kernels (GGUF_FILE=…), codebook_train,
           fingerprint [--dequantize] (GGUF_FILE=…), sae_gemms (SAE_SHAPE=B,d,L), serve_load (SERVE_TOKENS, SERVE_REQUESTS, SERVE_CLIENTS; needs the intervene binary),
           safetensors_load (SAFETENSORS_FILE=…, written to the temporary folder when unset)
"""

var arguments = Array(CommandLine.arguments.dropFirst())
var reps = 9
if let i = arguments.firstIndex(of: "--reps") {
    guard i + 1 < arguments.count, let n = Int(arguments[i + 1]), n > 0 else {
        FileHandle.standardError.write(Data("--reps needs a positive integer\n\(usage)\n".utf8))
        exit(2)
    }
    reps = n
    arguments.removeSubrange(i...(i + 1))
}
var weights = QuantizedWeights.keep
if let i = arguments.firstIndex(of: "--dequantize") {
    weights = .dequantize
    arguments.remove(at: i)
}
guard arguments.count == 1 || (arguments.count == 2 && arguments[0] == "safetensors_load_once") else {
    FileHandle.standardError.write(Data("\(usage)\n".utf8))
    exit(2)
}

do {
    switch arguments[0] {
    case "engine": emit(try EngineBenchmark.run(reps: reps))
    case "gpt2_forward": emit(try GPT2ForwardBenchmark.run(reps: reps))
    case "generation": emit(try GenerationBenchmark.run(reps: reps))
    case "mlp_das_epoch": emit(try TrainingBenchmarks.mlpDASEpoch(reps: reps))
    case "boundless_step": emit(try TrainingBenchmarks.boundlessStep(reps: reps))
    case "import": emit(try TrainingBenchmarks.importTime(reps: reps))
    case "gguf_load": emit(try GGUFLoadBenchmark.run(reps: reps))
    case "gguf_decode": emit(try GGUFDecodeBenchmark.run(reps: reps, weights: weights))
    case "quant_kernels": emit(try QuantKernelBenchmark.run(reps: reps))
    case "gguf_decode_once":
        guard let path = ProcessInfo.processInfo.environment["GGUF_FILE"] else { exit(2) }
        print(try GGUFDecodeBenchmark.once(path: path, weights: weights))
    case "fingerprint": emit(try FingerprintBenchmark.run(reps: reps, weights: weights))
    case "codebook_train": emit(try CodebookTrainingBenchmark.run(reps: reps))
    case "sae_gemms": emit(try SAEGemmBenchmark.run(reps: reps))
    case "serve_load": emit(try ServeLoadBenchmark.run())
    case "safetensors_load": emit(try SafeTensorsLoadBenchmark.run(reps: reps))
    case "safetensors_load_once":
        guard arguments.count == 2, ["mapped", "copied"].contains(arguments[1]),
              let path = ProcessInfo.processInfo.environment["SAFETENSORS_FILE"] else { exit(2) }
        print(try SafeTensorsLoadBenchmark.once(path: path, copying: arguments[1] == "copied").map { String($0) }.joined(separator: " "))
    case "gguf_load_once":
        guard let path = ProcessInfo.processInfo.environment["GGUF_FILE"] else { exit(2) }
        print(try GGUFLoadBenchmark.once(path: path).map { String($0) }.joined(separator: " "))
    default:
        FileHandle.standardError.write(Data("unknown workload '\(arguments[0])'\n\(usage)\n".utf8))
        exit(2)
    }
} catch {
    FileHandle.standardError.write(Data("benchmark failed: \(error)\n".utf8))
    exit(1)
}
