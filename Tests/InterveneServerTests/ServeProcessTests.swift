import Foundation
import InterveneTestSupport
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import CausalAbstraction
@testable import Features
@testable import InterveneServer
import Models

/// `intervene serve` and `intervene export-html` as processes.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: interveneBinary), "needs the intervene binary (swift build)"))
struct ServeProcessTests {
    /// Starts `intervene ARGUMENTS` (a serve command) and waits for the first line of its
    /// standard output, which names the URL.
    func startServer(_ arguments: [String]) async throws -> (process: Process, firstLine: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: interveneBinary)
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let firstLine: String = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var bytes = Data()
                while !bytes.contains(UInt8(ascii: "\n")) {
                    let chunk = out.fileHandleForReading.availableData
                    if chunk.isEmpty { break }
                    bytes.append(chunk)
                }
                continuation.resume(returning: String(decoding: bytes, as: UTF8.self))
            }
        }
        return (process, firstLine)
    }

    @Test func foldersThatAreNotCachesAreRefusedAtStartUp() throws {
        let missing = temporaryPath("missing"), f = try BrowserFixture()
        defer { f.cleanUp() }
        let run = try runIntervene(["serve", f.codebookPath, missing, "--port", "0"])
        #expect(run.status == 2 && run.error.contains("cache folder '\(missing)' does not exist"))
        let notCache = temporaryPath("not-a-cache")
        try FileManager.default.createDirectory(atPath: notCache, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: notCache) }
        let other = try runIntervene(["serve", notCache, "--port", "0"])
        #expect(other.status == 2 && other.error.contains("folder '\(notCache)' is not a cache folder"))
        let port = try runIntervene(["serve", f.codebookPath, "--port", "70000"])
        #expect(port.status == 2 && port.error.contains("--port is 70000"))
    }

    @Test func aModelOtherThanTheCachesIsRefusedAtStartUp() throws {
        let f = try BrowserFixture(), model = try tinyGPT2Folder()
        defer { f.cleanUp(); try? FileManager.default.removeItem(atPath: model) }
        let run = try runIntervene(["serve", f.latentPath, "--model", model, "--port", "0"])
        #expect(run.status == 2 && run.error.contains("--model is '\(model)'") && run.error.contains("intervene-fp1:0000000000000002"), "\(run.error)")
        let missing = try runIntervene(["serve", f.latentPath, "--model", model + "-missing", "--port", "0"])
        #expect(missing.status == 2, "\(missing.error)")
    }

    @Test func serveWithAModelAnswersTheLivePages() async throws {
        let model = try tinyGPT2Folder(), sae = temporaryPath("sae"), cache = temporaryPath("live-latents"), corpus = temporaryPath("corpus")
        defer { for p in [model, sae, cache, corpus] { try? FileManager.default.removeItem(atPath: p) } }
        try SAELensFormat.save(try SparseAutoencoder(width: 16, latents: 8, activation: .relu, seed: 1), to: sae)
        try String(repeating: "the quick brown fox jumps over the lazy dog. ", count: 20).write(toFile: corpus, atomically: true, encoding: .utf8)
        let written = try runIntervene(["sae", "latents", "--model", model, "--site", "0:block_output", "--sae", sae, "--corpus", corpus,
                                          "--out", cache, "--window", "16", "--json"])
        #expect(written.status == 0, "\(written.error)")
        let (process, firstLine) = try await startServer(["serve", cache, "--model", model, "--port", "0"])
        defer { if process.isRunning { process.terminate() } }
        let match = try #require(firstLine.firstMatch(of: /http:\/\/127\.0\.0\.1:(\d+)\//), "printed: \(firstLine)")
        #expect(firstLine.contains("live interventions at /live"))
        let base = "http://127.0.0.1:\(match.1)"
        let (boxData, box) = try await URLSession.shared.data(from: URL(string: base + "/cache/0/latent/0?prompt=the+lazy+dog")!)
        #expect((box as? HTTPURLResponse)?.statusCode == 200 && String(decoding: boxData, as: UTF8.self).contains("id=\"prompt-activations\""))
        let (liveData, live) = try await URLSession.shared.data(from: URL(string: base + "/live?prompt=the+fox&action=latent-set&cache=0&latent=1&value=20")!)
        #expect((live as? HTTPURLResponse)?.statusCode == 200 && String(decoding: liveData, as: UTF8.self).contains("id=\"after\""))
        let (_, bad) = try await URLSession.shared.data(from: URL(string: base + "/live?prompt=x&site=7:block_output")!)
        #expect((bad as? HTTPURLResponse)?.statusCode == 400)
        process.terminate()
        process.waitUntilExit()
    }

    @Test func servePrintsItsURLAnswersAndStopsOnSIGTERM() async throws {
        let f = try BrowserFixture()
        defer { f.cleanUp() }
        let (process, firstLine) = try await startServer(["serve", f.codebookPath, f.latentPath, "--port", "0"])
        defer { if process.isRunning { process.terminate() } }
        let match = try #require(firstLine.firstMatch(of: /http:\/\/127\.0\.0\.1:(\d+)\//), "printed: \(firstLine)")
        #expect(firstLine.contains("2 cache(s)"))
        let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(match.1)/cache/1/latent/0")!)
        #expect((response as? HTTPURLResponse)?.statusCode == 200 && String(decoding: data, as: UTF8.self).contains("id=\"histogram\""))
        let (_, bad) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(match.1)/cache/0/search?regex=%5B")!)
        #expect((bad as? HTTPURLResponse)?.statusCode == 400)
        // A second server on the same port is refused with exit 2, naming the address.
        let taken = try runIntervene(["serve", f.codebookPath, "--port", String(match.1)])
        #expect(taken.status == 2 && taken.error.contains("the server on 127.0.0.1:\(match.1) failed"), "\(taken.error)")
        process.terminate()
        process.waitUntilExit()
        #expect(process.terminationReason == .exit && process.terminationStatus == 0)
    }

    /// `intervene sweep` on a tiny experiment (a random hierarchical-equality MLP, 2 cells, one
    /// epoch of 128 examples), then `intervene serve` on its folder: the heatmap, a cell and its bundle.
    @Test func serveBrowsesASweepFolderWrittenByIntervene() async throws {
        let scratch = temporaryPath("sweep-serve")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let model = MLPClassifier(MLPClassifierConfiguration(width: HierarchicalEqualityTask.inputWidth, layers: 2, classes: 2, activation: .relu))
        model.initializeLikeTorch(seed: 3)
        try CheckpointWriter.save(model, config: model.configuration, to: scratch + "/model", card: "random MLP")
        try """
        {"name": "served sweep", "seed": 1, "model": {"path": "\(scratch)/model"},
         "data": {"builtin": "hierarchical_equality", "variable": "left_equality", "train": 128, "test": 64},
         "representations": [{"layer": 0, "component": "block_output", "unit": "pos", "max_number_of_units": 1}],
         "intervention_types": "LowRankRotatedSpaceIntervention",
         "training": {"epochs": 1, "batch_size": 32, "learning_rate": 0.01},
         "output": {"bundle": "\(scratch)/unused"},
         "sweep": {"layers": [0, 1], "low_rank_dimensions": [1]}}
        """.write(toFile: scratch + "/experiment.json", atomically: true, encoding: .utf8)
        let sweep = try runIntervene(["sweep", scratch + "/experiment.json", "--out", scratch + "/out", "--quiet"])
        #expect(sweep.status == 0, "\(sweep.error)")
        let results = try SweepResults.merge([scratch + "/out"])
        let iia = try #require(results.results[1].metrics["iia"])
        let (process, firstLine) = try await startServer(["serve", scratch + "/out", "--port", "0"])
        defer { if process.isRunning { process.terminate() } }
        let match = try #require(firstLine.firstMatch(of: /http:\/\/127\.0\.0\.1:(\d+)\//), "printed: \(firstLine)")
        let base = "http://127.0.0.1:\(match.1)"
        func get(_ path: String) async throws -> (Int, String) {
            let (data, response) = try await URLSession.shared.data(from: URL(string: base + path)!)
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
        }
        let (status, heatmap) = try await get("/cache/0")
        #expect(status == 200 && heatmap.contains("2 of 2 finished") && occurrences(of: "class=\"cell\"", in: heatmap) == 2)
        #expect(heatmap.contains("<a href=\"/cache/0/cell/1\"><g><title>cell 1: layer=1 low_rank_dimension=1; iia \(String(format: "%.4f", iia))</title>"))
        let (cellStatus, cell) = try await get("/cache/0/cell/1")
        #expect(cellStatus == 200 && cell.contains("<tr><td>iia</td><td>\(HTML.number(iia, digits: 4))</td></tr>"), "\(cell)")
        let (bundleStatus, bundle) = try await get("/cache/0/cell/1/bundle")
        #expect(bundleStatus == 200 && bundle.contains("rotate_layer.weight</code></td><td>F32</td>") && bundle.contains("id=\"card\""))
        let (missing, _) = try await get("/cache/0/cell/2")
        #expect(missing == 404)
        process.terminate()
        process.waitUntilExit()
    }

    @Test func exportHTMLWritesTheSite() throws {
        let f = try BrowserFixture()
        let out = temporaryPath("site")
        defer { f.cleanUp(); try? FileManager.default.removeItem(atPath: out) }
        let run = try runIntervene(["export-html", f.codebookPath, f.latentPath, "--out", out])
        #expect(run.status == 0 && run.output.contains("wrote 13 pages"), "\(run.error)")
        #expect(FileManager.default.fileExists(atPath: out + "/index.html") && FileManager.default.fileExists(atPath: out + "/cache-1-latent-0.html"))
        let refused = try runIntervene(["export-html", f.codebookPath, "--out", out, "--max-pages", "0"])
        #expect(refused.status == 2 && refused.error.contains("--max-pages is 0"))
    }
}
