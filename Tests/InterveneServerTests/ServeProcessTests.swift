import Foundation
import InterveneTestSupport
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Models
import Testing
@testable import Features

/// `intervene serve` and `intervene export-html` as processes.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: interveneBinary), "needs the intervene binary (swift build)"))
struct ServeProcessTests {
    @Test func foldersThatAreNotCachesAreRefusedAtStartUp() throws {
        let missing = temporaryPath("missing"), f = try BrowserFixture()
        defer { f.cleanUp() }
        let run = try runIntervene(["serve", f.codebookPath, missing, "--port", "0"])
        #expect(run.status == 2 && run.error.contains("cache folder '\(missing)' does not exist"))
        let notCache = NSTemporaryDirectory()
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
