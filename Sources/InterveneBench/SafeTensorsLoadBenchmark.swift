import Foundation
import Models
import Tensors

/// `safetensors_load`: loading GPT-2 small (random weights, Float32, about 475 MiB) from a
/// safetensors file, with Float32 weights read in place from the mapping ("mapped") and as
/// private copies ("copied", `Checkpoint(path:copyingWeights:)`), each in a fresh process per
/// sample after one discarded sample. SAFETENSORS_FILE names the file; without it one is written
/// to the temporary folder on first use (and kept for later runs).
///
/// Reported per mode (medians): load_ms (model built and every weight assigned), the process's
/// anonymous and file-backed resident memory right after loading (rss_anon_mib, rss_file_mib;
/// mapped file pages count as file memory, which the kernel shares and can drop), the same after
/// one 8-token forward pass (which touches every weight), and how many parameters borrow the
/// mapping.
enum SafeTensorsLoadBenchmark {
    static let ids = [464, 2068, 7586, 21831, 18045, 625, 262, 16931]

    /// The checkpoint to load, written (GPT-2 small, seed 0) when absent.
    static func checkpointPath() throws -> String {
        if let path = ProcessInfo.processInfo.environment["SAFETENSORS_FILE"] {
            guard FileManager.default.fileExists(atPath: path) else { throw BenchmarkFailure(description: "SAFETENSORS_FILE '\(path)' does not exist") }
            return path
        }
        let path = NSTemporaryDirectory() + "intervene-bench-gpt2-small.safetensors"
        if !FileManager.default.fileExists(atPath: path) {
            let model = try GPT2Family.model(GPT2Family.small)
            model.initializeRandomly(seed: 0)
            try model.save(to: path)
        }
        return path
    }

    /// A field of /proc/self/status ("RssAnon", "RssFile") in MiB; 0 where unreadable.
    static func statusMiB(_ field: String) -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }),
              let kib = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
        return kib / 1024
    }

    /// One sample in this process; prints "load_s anon file forward_s anon file mapped total".
    static func once(path: String, copying: Bool) throws -> [Double] {
        let t0 = Timing.now()
        let model = try GPT2Family.model(GPT2Family.small)
        try model.load(from: try Checkpoint(path: path, copyingWeights: copying))
        let t1 = Timing.now()
        let afterLoad = [statusMiB("RssAnon"), statusMiB("RssFile")]
        var seen = Set<ObjectIdentifier>()
        var mapped = 0, total = 0
        model.visitParameters { _, p in
            guard seen.insert(ObjectIdentifier(p)).inserted else { return }
            total += 1
            if p.value.borrowsMemory { mapped += 1 }
        }
        let t2 = Timing.now()
        let logits = try Tensor.withoutGradients { try model(.tokens(IndexTensor(shape: [1, ids.count], values: ids))).logits }
        let t3 = Timing.now()
        guard logits.shape == [1, ids.count, 50257], logits.scalars.allSatisfy(\.isFinite) else {
            throw BenchmarkFailure(description: "GPT-2 returned logits of shape \(logits.shape) or non-finite values")
        }
        return [t1 - t0] + afterLoad + [t3 - t2, statusMiB("RssAnon"), statusMiB("RssFile"), Double(mapped), Double(total)]
    }

    /// `reps` fresh processes per mode (after one discarded sample each); medians.
    static func run(reps: Int) throws -> [String: Any] {
        let path = try checkpointPath()
        var result: [String: Any] = ["workload": "safetensors_load", "threads": 2, "n": reps,
                                     "model": "GPT-2 small, random Float32 weights in one safetensors file",
                                     "file_mib": rounded(Double(try FileBytes(path: path).count) / 1_048_576, 1),
                                     "note": "fresh process per sample; first sample of each mode discarded; the file is in the page cache"]
        for mode in ["mapped", "copied"] {
            var rows: [[Double]] = []
            for _ in 0...reps {
                let output = try Timing.runFreshProcess(["safetensors_load_once", mode], environment: ["SAFETENSORS_FILE": path])
                let values = output.split(separator: " ").compactMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
                guard values.count == 8 else { throw BenchmarkFailure(description: "safetensors_load_once \(mode) printed '\(output)'") }
                rows.append(values)
            }
            rows.removeFirst()
            func median(_ i: Int) -> Double { let s = rows.map { $0[i] }.sorted(); return s[s.count / 2] }
            result[mode] = ["load_ms": rounded(1000 * median(0), 1), "rss_anon_mib": rounded(median(1), 1), "rss_file_mib": rounded(median(2), 1),
                            "forward_8_tokens_ms": rounded(1000 * median(3), 1), "rss_anon_after_forward_mib": rounded(median(4), 1),
                            "rss_file_after_forward_mib": rounded(median(5), 1), "mapped_parameters": Int(median(6)), "parameters": Int(median(7))]
        }
        return result
    }
}
