import Foundation
import Models
import Tensors

/// `gguf_decode [--dequantize]`: SmolLM2-135M-Instruct from its Q4_1 GGUF (GGUF_FILE), matrices
/// kept quantized (default) or dequantized to Float32, in a fresh process per sample: resident
/// memory after loading (VmRSS, and the peak), then greedy decoding of 64 new tokens after a
/// 32-token prompt with the key/value cache, as `intervene generate` does.
enum GGUFDecodeBenchmark {
    static let promptLength = 32, newTokens = 64

    /// A fixed 32-token prompt (the gguf_load ids, repeated).
    static var prompt: [Int] { (0..<promptLength).map { GGUFLoadBenchmark.ids[$0 % GGUFLoadBenchmark.ids.count] } }

    /// The current resident set size in MiB (/proc/self/status VmRSS).
    static func residentMiB() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return -1 }
        return kb / 1024
    }

    /// One sample: load, prompt-only and full generation; prints "load_s rss_mib peak_mib
    /// prefill_s generate_s peak_after_mib" and the generated ids after a "|".
    static func once(path: String, weights: QuantizedWeights) throws -> String {
        let t0 = Timing.now()
        let loaded = try ModelLoader.load(.gguf(path), quantizedWeights: weights)
        let t1 = Timing.now()
        BufferCache.purge()
        let rss = residentMiB(), peak = Timing.peakRSSMiB()
        guard let model = loaded.model as? any CausalLanguageModel else { throw BenchmarkFailure(description: "not a causal language model") }
        let prompt = IndexTensor(shape: [1, promptLength], values: Self.prompt)
        // Warm-up, then the prompt alone (one forward; its logits give the first token) and the whole run.
        _ = try Tensor.withoutGradients { try Generator.generate(model, prompt: prompt, config: GenerationConfig(maxNewTokens: 2)) }
        let t2 = Timing.now()
        _ = try Tensor.withoutGradients { try Generator.generate(model, prompt: prompt, config: GenerationConfig(maxNewTokens: 1)) }
        let t3 = Timing.now()
        let result = try Tensor.withoutGradients { try Generator.generate(model, prompt: prompt, config: GenerationConfig(maxNewTokens: newTokens + 1)) }
        let t4 = Timing.now()
        let values = [t1 - t0, rss, peak, t3 - t2, t4 - t3, Timing.peakRSSMiB()].map { String($0) }.joined(separator: " ")
        return values + " | " + result.sequences[0].dropFirst(promptLength).map(String.init).joined(separator: ",")
    }

    /// `reps` fresh processes (after one discarded sample); medians, and whether every sample
    /// generated the same tokens.
    static func run(reps: Int, weights: QuantizedWeights) throws -> [String: Any] {
        guard let path = ProcessInfo.processInfo.environment["GGUF_FILE"], FileManager.default.fileExists(atPath: path) else {
            throw BenchmarkFailure(description: "set GGUF_FILE to the SmolLM2 GGUF file (make smollm2 fetches it into .cache/smollm2)")
        }
        var rows: [[Double]] = [], sequences = Set<String>()
        for _ in 0...reps {
            let output = try Timing.runFreshProcess(["gguf_decode_once"] + (weights == .dequantize ? ["--dequantize"] : []))
            let parts = output.split(separator: "|")
            let values = parts.first.map { $0.split(separator: " ").compactMap { Double($0) } } ?? []
            guard values.count == 6, parts.count == 2 else { throw BenchmarkFailure(description: "gguf_decode_once failed") }
            rows.append(values)
            sequences.insert(parts[1].trimmingCharacters(in: .whitespacesAndNewlines))
        }
        rows.removeFirst()
        func median(_ i: Int) -> Double { let s = rows.map { $0[i] }.sorted(); return s[s.count / 2] }
        let decodeSeconds = median(4) - median(3)
        return ["workload": "gguf_decode", "weights": weights == .keep ? "quantized (Q4_1 / Q8_0 blocks)" : "dequantized Float32",
                "threads": Parallel.workers, "prompt_tokens": promptLength, "new_tokens": newTokens,
                "load_ms": rounded(1000 * median(0), 1), "rss_after_load_mib": rounded(median(1), 1), "peak_rss_load_mib": rounded(median(2), 1),
                "peak_rss_after_decode_mib": rounded(median(5), 1), "prefill_ms": rounded(1000 * median(3), 1),
                "decode_tokens_per_s": rounded(Double(newTokens) / decodeSeconds, 2),
                "end_to_end_tokens_per_s": rounded(Double(newTokens) / median(4), 2),
                "identical_tokens_across_samples": sequences.count == 1, "generated": sequences.first ?? "",
                "n": reps, "note": "fresh process per sample; first sample discarded; decode = (prompt + 65 tokens) − (prompt + 1 token)"]
    }
}
