import Foundation
import Intervene
import Models
import Tensors

/// `fingerprint`: `ModelFingerprint.of` over SmolLM2-135M-Instruct loaded from its GGUF file
/// (GGUF_FILE; quantized weights kept, or dequantized with `--dequantize`): what `intervene
/// serve --model` and every bundle load pay before doing anything else. One process: the model
/// is loaded once, then fingerprinted `reps` times after one untimed call. The resident set is
/// read after the load; the kernel's high-water mark (VmHWM) is then reset (`/proc/self/clear_refs`)
/// so that the peak read after the fingerprints is theirs, not the load's.
enum FingerprintBenchmark {
    static func run(reps: Int, weights: QuantizedWeights) throws -> [String: Any] {
        guard let path = ProcessInfo.processInfo.environment["GGUF_FILE"], FileManager.default.fileExists(atPath: path) else {
            throw ModelError.invalidInput("set GGUF_FILE to the SmolLM2 GGUF file (make smollm2 fetches it into .cache/smollm2)")
        }
        let t0 = Timing.now()
        let loaded = try ModelLoader.load(.gguf(path), quantizedWeights: weights)
        let loadSeconds = Timing.now() - t0
        let peakAfterLoad = Timing.peakRSSMiB(), residentAfterLoad = Timing.currentRSSMiB()
        let reset = resetHighWaterMark()
        var fingerprint = ""
        let median = Timing.medianMilliseconds(warmup: 1, reps: reps) { fingerprint = ModelFingerprint.of(loaded.model) }
        return ["workload": "fingerprint", "threads": 2,
                "model": "SmolLM2-135M-Instruct Q4_1 GGUF, " + (weights == .keep ? "quantized weights kept" : "dequantized to Float32"),
                "load_ms": rounded(1000 * loadSeconds, 1), "fingerprint_ms": rounded(median, 1), "fingerprint": fingerprint,
                "peak_rss_after_load_mib": rounded(peakAfterLoad, 1), "rss_after_load_mib": rounded(residentAfterLoad, 1),
                "peak_rss_while_fingerprinting_mib": reset ? rounded(highWaterMarkMiB(), 1) as Any : "not measured (clear_refs not writable)",
                "n": reps]
    }

    /// Resets this process's VmHWM to its current resident set (Linux ≥ 4.0); false when refused.
    static func resetHighWaterMark() -> Bool {
        guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
        defer { try? handle.close() }
        return (try? handle.write(contentsOf: Data("5".utf8))) != nil
    }

    /// VmHWM of /proc/self/status in MiB (0 where unreadable).
    static func highWaterMarkMiB() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kib = Double(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "") else { return 0 }
        return kib / 1024
    }
}
