import Foundation
import Models
import Tensors

/// `gguf_load`: loading SmolLM2-135M-Instruct from its GGUF file (Q4_1, dequantized to Float32)
/// plus one 8-token forward, in a fresh process per sample (as ../shared/bench does for
/// transformers); GGUF_FILE names the file (`make smollm2` puts it in .cache/smollm2).
enum GGUFLoadBenchmark {
    /// The same 8 token ids the reference uses.
    static let ids = [504, 3575, 282, 4649, 314, 260, 3575, 282]

    /// One sample in this process: load, forward; prints "load_s forward_s peak_rss_mib".
    static func once(path: String) throws -> [Double] {
        let t0 = Timing.now()
        let loaded = try ModelLoader.load(.gguf(path), quantizedWeights: .dequantize)
        let t1 = Timing.now()
        let logits = try Tensor.withoutGradients { try loaded.model(.tokens(IndexTensor(shape: [1, ids.count], values: ids))).logits }
        let t2 = Timing.now()
        guard logits.scalars.allSatisfy(\.isFinite), logits.shape == [1, ids.count, 49152] else {
            throw ModelError.invalidInput("SmolLM2 returned logits of shape \(logits.shape) or non-finite values")
        }
        return [t1 - t0, t2 - t1, Timing.peakRSSMiB()]
    }

    /// `reps` fresh processes (after one discarded cold-cache sample); medians.
    static func run(reps: Int) throws -> [String: Any] {
        guard let path = ProcessInfo.processInfo.environment["GGUF_FILE"], FileManager.default.fileExists(atPath: path) else {
            throw ModelError.invalidInput("set GGUF_FILE to the SmolLM2 GGUF file (make smollm2 fetches it into .cache/smollm2)")
        }
        var rows: [[Double]] = []
        for _ in 0...reps {
            let output = try Timing.runFreshProcess(["gguf_load_once"])
            let values = output.split(separator: " ").compactMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            guard values.count == 3 else { throw ModelError.invalidInput("gguf_load_once failed") }
            rows.append(values)
        }
        rows.removeFirst()
        func median(_ i: Int) -> Double { let s = rows.map { $0[i] }.sorted(); return s[s.count / 2] }
        return ["workload": "gguf_load", "threads": 2, "model": "SmolLM2-135M-Instruct Q4_1 GGUF, dequantized to Float32",
                "load_ms": rounded(1000 * median(0), 1), "forward_8_tokens_ms": rounded(1000 * median(1), 1),
                "peak_rss_mib": rounded(median(2), 1), "n": reps, "note": "fresh process per sample; first sample discarded"]
    }
}
