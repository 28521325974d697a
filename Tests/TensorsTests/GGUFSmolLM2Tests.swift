import Testing
import Foundation
@testable import Tensors

/// The real SmolLM2-135M-Instruct Q4_1 file (98 MB, not in the repository), when SMOLLM2_GGUF
/// points to it: header facts, every tensor info against the golden manifest, and the
/// dequantized probe rows against gguf-py (golden/smollm2/golden.safetensors).
@Suite struct GGUFSmolLM2Tests {
    static let modelPath = ProcessInfo.processInfo.environment["SMOLLM2_GGUF"]

    /// The smollm2 golden folder: under a GOLDEN_PATH entry, or ../shared/golden beside the repository.
    static var goldenFolder: String? {
        var roots = (ProcessInfo.processInfo.environment["GOLDEN_PATH"] ?? "").split(separator: ":").map(String.init)
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        roots.append(url.path + "/../shared/golden")
        let candidates = roots.flatMap { [$0 + "/smollm2", $0] }
        return candidates.first { FileManager.default.fileExists(atPath: $0 + "/manifest.json") && $0.hasSuffix("smollm2") }
    }

    @Test(.enabled(if: modelPath != nil, "set SMOLLM2_GGUF to SmolLM2-135M-Instruct.Q4_1.gguf"))
    func headerFacts() throws {
        let f = try GGUFFile(path: GGUFSmolLM2Tests.modelPath!)
        #expect(f.version == 3 && f.metadataKeys.count == 33 && f.tensorInfos.count == 272)
        #expect(f.alignment == 32 && f.dataOffset == 1_785_664)
        #expect(try f.string("general.architecture") == "llama")
        #expect(try f.int("llama.block_count") == 30 && f.int("llama.embedding_length") == 576)
        #expect(try f.int("llama.attention.head_count") == 9 && f.int("llama.attention.head_count_kv") == 3)
        #expect(try f.float("llama.attention.layer_norm_rms_epsilon").bitPattern == 0x3727_C5AC)
        #expect(try f.float("llama.rope.freq_base") == 100_000)
        #expect(try f.strings("tokenizer.ggml.tokens").count == 49_152)
        #expect(try f.info("token_embd.weight").type == .q8_0 && f.shape("token_embd.weight") == [49_152, 576])
        #expect(!f.contains("output.weight"))
        let counts = Dictionary(grouping: f.tensorInfos, by: \.type).mapValues(\.count)
        #expect(counts == [.q8_0: 1, .q4_1: 210, .f32: 61])
    }

    @Test(.enabled(if: modelPath != nil && goldenFolder != nil, "needs SMOLLM2_GGUF and the smollm2 golden folder"))
    func tensorInfosMatchTheManifest() throws {
        let f = try GGUFFile(path: GGUFSmolLM2Tests.modelPath!)
        let manifest = try JSONValue.parse(contentsOf: GGUFSmolLM2Tests.goldenFolder! + "/manifest.json")
        let tensors = manifest["model"]?["gguf"]?["tensors"]?.arrayValue ?? []
        #expect(tensors.count == 272)
        for t in tensors {
            let name = t["name"]?.stringValue ?? "?"
            let info = try f.info(name)
            #expect(info.type.name == t["ggml_type"]?.stringValue, "\(name)")
            #expect(info.ne == t["ne"]?.arrayValue?.compactMap(\.intValue), "\(name)")
            #expect(info.offset == t["offset_in_data_section"]?.intValue && info.byteCount == t["n_bytes"]?.intValue, "\(name)")
        }
    }

    @Test(.enabled(if: modelPath != nil && goldenFolder != nil, "needs SMOLLM2_GGUF and the smollm2 golden folder"))
    func dequantizedProbesMatchGGUFPy() throws {
        let f = try GGUFFile(path: GGUFSmolLM2Tests.modelPath!)
        let folder = GGUFSmolLM2Tests.goldenFolder!
        let golden = try SafeTensorsFile(path: folder + "/golden.safetensors")
        let manifest = try JSONValue.parse(contentsOf: folder + "/manifest.json")
        let probes = manifest["model"]?["dequantization_probes"]?.arrayValue ?? []
        #expect(probes.count == 6)
        for probe in probes {
            let name = probe["gguf_tensor"]?.stringValue ?? "?"
            let matrix = try f.tensor(name)
            let columns = matrix.shape.count == 2 ? matrix.shape[1] : matrix.count
            let values = matrix.scalars
            let rows = probe["rows"]?.arrayValue?.compactMap(\.intValue) ?? []
            let hfOrder = probe["layout"]?.stringValue == "hf"
            var actual: [Float] = []
            for row in rows {
                // HF q/k rows: W_hf[h·64 + c·32 + i] = W_gguf[h·64 + 2i + c].
                let source = hfOrder ? row / 64 * 64 + 2 * (row % 32) + (row % 64) / 32 : row
                actual += values[(source * columns)..<((source + 1) * columns)]
            }
            let expected = try golden.tensor(probe["tensor"]?.stringValue ?? "?").scalars
            let atol = Float(probe["atol"]?.doubleValue ?? 1e-7), rtol = Float(probe["rtol"]?.doubleValue ?? 1e-6)
            #expect(actual.count == expected.count, "\(name)")
            let worst = zip(actual, expected).map { abs($0 - $1) - (atol + rtol * abs($1)) }.max() ?? 0
            #expect(worst <= 0, "\(name) (\(hfOrder ? "hf" : "gguf") rows \(rows)): worst excess \(worst)")
        }
    }

    @Test(.enabled(if: modelPath != nil, "set SMOLLM2_GGUF to SmolLM2-135M-Instruct.Q4_1.gguf"))
    func everyTensorDequantizesToFiniteValues() throws {
        let f = try GGUFFile(path: GGUFSmolLM2Tests.modelPath!)
        var elements = 0
        for name in f.names {
            let t = try f.tensor(name)
            #expect(t.shape == f.tensorInfos.first { $0.name == name }!.shape)
            elements += t.count
            #expect(t.scalars.allSatisfy { $0.isFinite }, "\(name)")
        }
        #expect(elements == f.tensorInfos.map(\.elementCount).reduce(0, +))
    }
}
