import Foundation
import InterveneTestSupport
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Models
import Testing
import CausalAbstraction
@testable import Features
@testable import InterveneServer
import Models

/// `intervene serve` and `intervene export-html` as processes.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: interveneBinary), "needs the intervene binary (swift build)"))
struct ServeProcessTests {
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
        let (process, line, port) = try await startServe(["serve", cache, "--model", model, "--port", "0"])
        defer { if process.isRunning { process.terminate() } }
        #expect(line.contains("live interventions at /live"))
        let base = "http://127.0.0.1:\(port)"
        let (boxData, box) = try await URLSession.shared.data(from: URL(string: base + "/cache/0/latent/0?prompt=the+lazy+dog")!)
        #expect((box as? HTTPURLResponse)?.statusCode == 200 && String(decoding: boxData, as: UTF8.self).contains("id=\"prompt-activations\""))
        let (liveData, live) = try await URLSession.shared.data(from: URL(string: base + "/live?prompt=the+fox&action=latent-set&cache=0&latent=1&value=20")!)
        #expect((live as? HTTPURLResponse)?.statusCode == 200 && String(decoding: liveData, as: UTF8.self).contains("id=\"after\""))
        let (_, bad) = try await URLSession.shared.data(from: URL(string: base + "/live?prompt=x&site=7:block_output")!)
        #expect((bad as? HTTPURLResponse)?.statusCode == 400)
        process.terminate()
        process.waitUntilExit()
    }

    /// `intervene` started with `arguments` (a serve command), the first line it prints and the
    /// port that line's URL names; the process is terminated when the line names none.
    func startServe(_ arguments: [String]) async throws -> (process: Process, line: String, port: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: interveneBinary)
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let line = await firstLine(of: out)
        guard let match = line.firstMatch(of: /http:\/\/127\.0\.0\.1:(\d+)\//) else {
            process.terminate()
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "serve printed no URL: \(line)"])
        }
        return (process, line, String(match.1))
    }

    /// The first line a process prints to `out` (its standard output).
    func firstLine(of out: Pipe) async -> String {
        await withCheckedContinuation { continuation in
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
    }

    @Test func serveWithACodebookCacheForcesCodesLiveAndRefusesOtherBundles() async throws {
        let f = try CodebookLiveFixture()
        let prompts = temporaryPath("prompts"), cache = temporaryPath("cli-codes"), eight = temporaryPath("bundle-8"), foreign = temporaryPath("bundle-foreign")
        defer { f.cleanUp(); for p in [prompts, cache, eight, foreign] { try? FileManager.default.removeItem(atPath: p) } }
        try "the quick brown fox\na lazy dog sleeps\n".write(toFile: prompts, atomically: true, encoding: .utf8)
        let written = try runIntervene(["codebook", "cache", "--model", f.folder, "--codebooks", f.bundle, "--prompts", prompts, "--out", cache, "--json"])
        #expect(written.status == 0, "\(written.error)")
        #expect(try CodebookCache.manifest(at: cache).bundle == URL(fileURLWithPath: f.bundle).standardizedFileURL.path)  // absolute
        // A bundle with other codebooks, and one made for another model, are refused at start-up.
        guard let decoder = try ModelLoader.load(named: f.folder).model as? DecoderModel else { Issue.record("not a decoder"); return }
        try CodebookBundle.save(try CodebookModel(model: decoder, specs: [CodebookSpec(placement: .mlp, codeCount: 8, k: 2)]), to: eight, modelSource: f.folder)
        let other = try GPT2Family.model(GPT2Family.config(vocabularySize: 700, positions: 64, width: 16, layers: 2, heads: 2))
        other.initializeRandomly(seed: 9, std: 0.2)
        try CodebookBundle.save(try CodebookModel(model: other, specs: [CodebookSpec(placement: .mlp, codeCount: 16, k: 2)]), to: foreign, modelSource: "other")
        let mismatch = try runIntervene(["serve", cache, "--model", f.folder, "--codebooks", eight, "--port", "0"])
        #expect(mismatch.status == 2 && mismatch.error.contains("--codebooks is '\(eight)' (codebook 'L0.mlp': 8 codes, k = 2)")
                && mismatch.error.contains("codebooks[0] 'L0.mlp': 16 codes, k = 2"), "\(mismatch.error)")
        let made = try runIntervene(["serve", cache, "--model", f.folder, "--codebooks", foreign, "--port", "0"])
        #expect(made.status == 2 && made.error.contains("--codebooks is '\(foreign)' (made for fingerprint"), "\(made.error)")
        let lonely = try runIntervene(["serve", cache, "--codebooks", f.bundle, "--port", "0"])
        #expect(lonely.status == 2 && lonely.error.contains("--codebooks is '\(f.bundle)' without --model"), "\(lonely.error)")
        // The cache records its bundle: --model alone turns the code actions on.
        let (process, _, port) = try await startServe(["serve", cache, "--model", f.folder, "--port", "0"])
        defer { if process.isRunning { process.terminate() } }
        let base = "http://127.0.0.1:\(port)"
        let (data, response) = try await URLSession.shared.data(from: URL(string: base + "/live?prompt=the+fox&action=code-force&codebook=L1.mlp&code=3&position=all")!)
        let text = String(decoding: data, as: UTF8.self)
        #expect((response as? HTTPURLResponse)?.statusCode == 200 && text.contains("code 3 of L1.mlp forced into every slot at every position"), "\(text.suffix(800))")
        let (codeData, _) = try await URLSession.shared.data(from: URL(string: base + "/cache/0/codebook/1/code/3")!)
        #expect(String(decoding: codeData, as: UTF8.self).contains("id=\"force-live\""))
        process.terminate()
        process.waitUntilExit()
    }

    @Test func servePrintsItsURLAnswersAndStopsOnSIGTERM() async throws {
        let f = try BrowserFixture()
        defer { f.cleanUp() }
        let (process, line, port) = try await startServe(["serve", f.codebookPath, f.latentPath, "--port", "0"])  // the first line names the URL
        defer { if process.isRunning { process.terminate() } }
        #expect(line.contains("2 cache(s)"))
        let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/cache/1/latent/0")!)
        #expect((response as? HTTPURLResponse)?.statusCode == 200 && String(decoding: data, as: UTF8.self).contains("id=\"histogram\""))
        let (_, bad) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/cache/0/search?regex=%5B")!)
        #expect((bad as? HTTPURLResponse)?.statusCode == 400)
        // A second server on the same port is refused with exit 2, naming the address.
        let taken = try runIntervene(["serve", f.codebookPath, "--port", String(port)])
        #expect(taken.status == 2 && taken.error.contains("the server on 127.0.0.1:\(port) failed"), "\(taken.error)")
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
        let (process, _, port) = try await startServe(["serve", scratch + "/out", "--port", "0"])
        defer { if process.isRunning { process.terminate() } }
        let base = "http://127.0.0.1:\(port)"
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
        #expect(run.status == 0 && run.output.contains("wrote 15 pages"), "\(run.error)")
        #expect(FileManager.default.fileExists(atPath: out + "/index.html") && FileManager.default.fileExists(atPath: out + "/cache-1-latent-0.html"))
        let refused = try runIntervene(["export-html", f.codebookPath, "--out", out, "--max-pages", "0"])
        #expect(refused.status == 2 && refused.error.contains("--max-pages is 0"))
    }
}
