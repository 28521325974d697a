import Foundation
import Testing
import Models
import Tensors

/// Result of one golden case.
struct GoldenResult {
    let name: String
    let kind: String
    let status: String
    let reason: String?
    let maxAbsError: Float?
}

/// Runs every case of every manifest.json under the folders in GOLDEN_PATH (colon-separated;
/// default ../shared/golden beside the repository). A case the suite cannot run is reported
/// as skipped with the reason; with GOLDEN_REPORT set, a JSON report is written there.
@Suite(.serialized) struct GoldenConformance {
    static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static var searchFolders: (folders: [String], explicit: Bool) {
        if let value = ProcessInfo.processInfo.environment["GOLDEN_PATH"], !value.isEmpty {
            return (value.split(separator: ":").map(String.init), true)
        }
        return ([repositoryRoot + "/../shared/golden", repositoryRoot + "/Tests/Fixtures/decoder-families"], false)
    }

    /// Every manifest.json below `folder`, sorted.
    static func manifests(under folder: String) -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: folder) else { return [] }
        var found: [String] = []
        while let item = walker.nextObject() as? String {
            if (item as NSString).lastPathComponent == "manifest.json" { found.append(folder + "/" + item) }
        }
        return found.sorted()
    }

    @Test func goldenConformance() throws {
        let (folders, explicit) = GoldenConformance.searchFolders
        var reports: [[String: Any]] = []
        var totals = (passed: 0, failed: 0, skipped: 0)
        var anyManifest = false
        for folder in folders {
            guard FileManager.default.fileExists(atPath: folder) else {
                if explicit { Issue.record("GOLDEN_PATH folder \(folder) does not exist") } else {
                    print("[golden] default folder \(folder) is missing; set GOLDEN_PATH to run the conformance suite")
                }
                continue
            }
            for manifestPath in GoldenConformance.manifests(under: folder) {
                anyManifest = true
                let results: [GoldenResult]
                let data: GoldenFolder
                do { data = try GoldenFolder(manifestPath: manifestPath) } catch {
                    Issue.record("\(manifestPath): cannot read (\(error))")
                    continue
                }
                results = GoldenRunner.run(data)
                report(data, results, manifestPath: manifestPath, totals: &totals, reports: &reports)
                if data.isGGUF {
                    data.quantizedWeights = .keep
                    report(data, GoldenRunner.run(data), manifestPath: manifestPath, totals: &totals, reports: &reports)
                }
            }
        }
        if explicit && !anyManifest { Issue.record("no manifest.json found under GOLDEN_PATH=\(folders.joined(separator: ":"))") }
        print("[golden] \(totals.passed) passed, \(totals.failed) failed, \(totals.skipped) skipped")
        if let reportPath = ProcessInfo.processInfo.environment["GOLDEN_REPORT"], !reportPath.isEmpty {
            let data = try JSONSerialization.data(withJSONObject: ["manifests": reports], options: [.prettyPrinted, .sortedKeys])
            try data.write(to: URL(fileURLWithPath: reportPath))
        }
    }

    /// Prints and counts one manifest's results and adds them to the report.
    func report(_ data: GoldenFolder, _ results: [GoldenResult], manifestPath: String,
                totals: inout (passed: Int, failed: Int, skipped: Int), reports: inout [[String: Any]]) {
        for r in results {
            let err = r.maxAbsError.map { String(format: " max|err| %.2e", Double($0)) } ?? ""
            print("[golden] \(data.name)/\(r.name) (\(r.kind)): \(r.status)\(err)\(r.reason.map { " — " + $0 } ?? "")")
            switch r.status {
            case "passed": totals.passed += 1
            case "failed":
                totals.failed += 1
                Issue.record("golden \(data.name)/\(r.name): \(r.reason ?? "failed")")
            default: totals.skipped += 1
            }
        }
        reports.append(["path": manifestPath, "model": data.name, "cases": results.map { r in
            var entry: [String: Any] = ["name": r.name, "kind": r.kind, "status": r.status]
            entry["reason"] = r.reason ?? NSNull()
            entry["max_abs_error"] = r.maxAbsError.map { Double($0) } ?? NSNull()
            return entry
        }])
    }
}

/// Dispatches a manifest's cases by format and kind.
enum GoldenRunner {
    static func run(_ data: GoldenFolder) -> [GoldenResult] {
        switch data.format {
        case "pyvene-golden/v1": return PyveneGoldenCases(data).runAll()
        case "minilm-golden/v1": return MiniLMGoldenCases(data).runAll()
        case "bpe-golden/v1": return BPEGoldenCases(data).runAll()
        case "gguf-quants/v1": return GGUFQuantCases(data).runAll()
        case "codebook-golden/v1": return CodebookGoldenCases(data).runAll()
        default:
            let reason = LaterCapabilities.manifestFormats[data.format].map { "needs \($0)" }
                ?? "manifest format '\(data.format)' is not known to this suite"
            return data.cases.map { c in
                GoldenResult(name: c["name"]?.stringValue ?? "?", kind: c["kind"]?.stringValue ?? "?", status: "skipped",
                             reason: reason, maxAbsError: nil)
            }
        }
    }

    /// Runs `body` for one case and turns its outcome into a result.
    static func result(_ c: JSONValue, _ body: () throws -> Float?) -> GoldenResult {
        let name = c["name"]?.stringValue ?? "?", kind = c["kind"]?.stringValue ?? "?"
        do {
            let err = try body()
            return GoldenResult(name: name, kind: kind, status: "passed", reason: nil, maxAbsError: err)
        } catch let skip as GoldenSkip {
            return GoldenResult(name: name, kind: kind, status: "skipped", reason: skip.description, maxAbsError: nil)
        } catch {
            return GoldenResult(name: name, kind: kind, status: "failed", reason: "\(error)", maxAbsError: nil)
        }
    }
}
