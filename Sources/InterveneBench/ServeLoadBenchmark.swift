import Features
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `serve_load`: the browser under load. Writes a synthetic codebook cache (SERVE_TOKENS tokens,
/// default 100 000, in 256-token documents over a 200-word vocabulary; one codebook of 1 024
/// codes, k = 8, whose codes follow the token with some noise), starts `intervene serve` (the
/// binary next to this one) on a free loopback port, and sends SERVE_REQUESTS code searches
/// (default 1 000, over 8 regular expressions in turn) from SERVE_CLIENTS concurrent clients
/// (default 8). Reports p50/p99/max latency in ms, errors (any status other than 200), and the
/// server's resident memory after the first 100 requests and at the end.
enum ServeLoadBenchmark {
    static let patterns = ["\\bthe\\b", "ing\\b", "^ ?[A-Z]", "\\d+", "cat|dog", "(?i)river", "s\\b", "[aeiou]{2}"]

    static func environment(_ name: String, _ fallback: Int) throws -> Int {
        guard let text = ProcessInfo.processInfo.environment[name] else { return fallback }
        guard let value = Int(text), value > 0 else { throw BenchmarkFailure(description: "\(name) is '\(text)'; allowed: a positive integer") }
        return value
    }

    /// The synthetic cache's collected codes.
    static func syntheticCodes(tokens: Int) throws -> CollectedCodes {
        let stems = ["the", "cat", "dog", "river", "stone", "walk", "sing", "light", "house", "green", "Paris", "Anna", "12", "1970", "and", "of"]
        let endings = ["", "s", "ing", "ed", "er", ".", ",", "ly"]
        var vocabulary: [String] = []
        for s in stems { for e in endings { vocabulary.append(" " + s + e) } }
        vocabulary = Array(vocabulary.prefix(200))
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        var documents: [TokenDocument] = [], ids: [[Int]] = []
        var remaining = tokens
        while remaining > 0 {
            let n = min(256, remaining)
            var docIds: [Int] = [], codes: [Int] = []
            docIds.reserveCapacity(n)
            codes.reserveCapacity(n * 8)
            for _ in 0..<n {
                let t = next(vocabulary.count)
                docIds.append(t)
                for slot in 0..<8 { codes.append(slot < 3 ? (t * 5 + slot) % 1_024 : next(1_024)) }
            }
            documents.append(TokenDocument(ids: docIds, pieces: docIds.map { vocabulary[$0] }))
            ids.append(codes)
            remaining -= n
        }
        return try CollectedCodes(documents: documents, codebooks: [CollectedCodebook(name: "L1.mlp", codeCount: 1_024, k: 8, ids: ids)])
    }

    /// Resident set size of process `pid` in MiB (from /proc; 0 when unreadable).
    static func residentMiB(_ pid: Int32) -> Double {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kib = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
        return kib / 1024
    }

    static func run() throws -> [String: Any] {
        let tokens = try environment("SERVE_TOKENS", 100_000), requests = try environment("SERVE_REQUESTS", 1_000)
        let clients = try environment("SERVE_CLIENTS", 8)
        let binary = (Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])).deletingLastPathComponent()
            .appendingPathComponent("intervene").path
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw BenchmarkFailure(description: "no intervene binary at \(binary); build it with the same configuration")
        }
        let cache = NSTemporaryDirectory() + "serve-load-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: cache) }
        try CodebookCache.write(try syntheticCodes(tokens: tokens), to: cache, model: .init(type: "synthetic", fingerprint: "none", source: "serve_load"))

        let server = Process()
        server.executableURL = URL(fileURLWithPath: binary)
        server.arguments = ["serve", cache, "--port", "0"]
        let out = Pipe()
        server.standardOutput = out
        try server.run()
        defer { if server.isRunning { server.terminate(); server.waitUntilExit() } }
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        guard let match = String(decoding: line, as: UTF8.self).firstMatch(of: /http:\/\/127\.0\.0\.1:(\d+)\//) else {
            throw BenchmarkFailure(description: "intervene serve printed no URL: \(String(decoding: line, as: UTF8.self))")
        }
        let base = "http://127.0.0.1:\(match.1)/cache/0/search?limit=20&regex="
        let urls = (0..<requests).map { i in
            URL(string: base + patterns[i % patterns.count].addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)!
        }
        let pid = server.processIdentifier
        let outcome = LoadOutcome()
        let done = DispatchSemaphore(value: 0)
        Task {
            let next = Counter()
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<clients {
                    group.addTask {
                        while let i = next.take(below: urls.count) {
                            let t0 = Timing.now()
                            let status = (try? await URLSession.shared.data(from: urls[i]))?.1 as? HTTPURLResponse
                            let finished = outcome.record(milliseconds: (Timing.now() - t0) * 1000, ok: status?.statusCode == 200)
                            if finished == 100 { outcome.rssAfter100 = residentMiB(pid) }
                        }
                    }
                }
            }
            done.signal()
        }
        done.wait()
        let latencies = outcome.latencies.sorted()
        func percentile(_ p: Double) -> Double { latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(p * Double(latencies.count)))] }
        return ["workload": "serve_load", "tokens": tokens, "requests": requests, "clients": clients,
                "p50_ms": rounded(percentile(0.5), 2), "p99_ms": rounded(percentile(0.99), 2), "max_ms": rounded(latencies.last ?? 0, 2),
                "errors": outcome.errors, "server_rss_mib_after_100": rounded(outcome.rssAfter100, 1), "server_rss_mib_end": rounded(residentMiB(pid), 1)]
    }
}

/// Hands out request indices 0 ..< n to the clients.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func take(below n: Int) -> Int? {
        lock.withLock {
            guard value < n else { return nil }
            defer { value += 1 }
            return value
        }
    }
}

/// Latencies and errors gathered by the clients.
final class LoadOutcome: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var latencies: [Double] = []
    private(set) var errors = 0
    private var rss = 0.0
    var rssAfter100: Double {
        get { lock.withLock { rss } }
        set { lock.withLock { rss = newValue } }
    }
    /// Adds one request's latency; returns the number of requests finished so far.
    func record(milliseconds: Double, ok: Bool) -> Int {
        lock.withLock {
            latencies.append(milliseconds)
            if !ok { errors += 1 }
            return latencies.count
        }
    }
}
