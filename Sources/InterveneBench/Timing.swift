import Foundation

/// Wall-clock timing helpers for the benchmarks.
enum Timing {
    /// Seconds since an arbitrary origin (monotonic).
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// Runs this benchmark binary again in a fresh process with `arguments` (and `environment`
    /// added to this one's) and returns its standard output; throws naming `arguments` when it
    /// exits with a failure status.
    static func runFreshProcess(_ arguments: [String], environment: [String: String] = [:]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BenchmarkFailure(description: "\(arguments.joined(separator: " ")) exited with status \(process.terminationStatus)")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Median milliseconds of `reps` calls after `warmup` untimed calls.
    static func medianMilliseconds(warmup: Int = 2, reps: Int, _ body: () -> Void) -> Double {
        for _ in 0..<warmup { body() }
        var samples: [Double] = []
        for _ in 0..<reps {
            let t0 = now()
            body()
            samples.append((now() - t0) * 1000)
        }
        samples.sort()
        return samples[samples.count / 2]
    }

    /// Runs several variants round-robin (so machine drift hits all alike) and returns the
    /// median milliseconds of each (the minimum with `best`).
    static func interleavedMedians(warmup: Int = 2, reps: Int, best: Bool = false, _ variants: [() -> Void]) -> [Double] {
        var samples = [[Double]](repeating: [], count: variants.count)
        for round in 0..<(warmup + reps) {
            for (i, v) in variants.enumerated() {
                let t0 = now()
                v()
                if round >= warmup { samples[i].append((now() - t0) * 1000) }
            }
        }
        return samples.map { s in let sorted = s.sorted(); return best ? sorted[0] : sorted[sorted.count / 2] }
    }

    /// Peak resident set size of this process in MiB.
    /// The resident set now (VmRSS from /proc/self/statm), in MiB; 0 where unreadable.
    static func currentRSSMiB() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Double(fields[1]) else { return 0 }
        return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
    }

    static func peakRSSMiB() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_maxrss) / 1024
    }
}

/// Rounds for JSON output.
func rounded(_ x: Double, _ digits: Int = 3) -> Double {
    let p = Foundation.pow(10, Double(digits))
    return (x * p).rounded() / p
}

/// Prints one JSON object.
func emit(_ object: [String: Any]) {
    let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
    print(String(decoding: data, as: UTF8.self))
}

/// A benchmark could not run or produced wrong numbers.
struct BenchmarkFailure: Error, CustomStringConvertible {
    let description: String
}
