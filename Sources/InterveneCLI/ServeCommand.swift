import ArgumentParser
import Features
import Foundation
import Intervene
import InterveneServer
import Models

/// `intervene serve CACHE_DIR… [--port P] [--host H]`: the browser for caches and experiment folders.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Browse cache, sweep, trace, attribution and bundle folders in a web browser (server-rendered pages, nothing fetched from outside).",
        discussion: """
        Each folder is recognised by its manifest.json: a codebook cache (written by `intervene codebook cache`) or a latent
        cache (written by `intervene sae latents`); or by its files: a sweep (sweep.json, from `intervene sweep`: IIA heatmap,
        cell pages, each cell's bundle), a trace (trace.json, from `intervene trace` or `patch`: token × layer heatmaps), an
        attribution run (attribution.json, from `intervene attribute --out`: node table) or a bundle (bundle.json: config,
        metrics, card, tensor shapes). A missing or unrecognised folder is refused before the server starts (exit 2). With --model the page /live runs interventions on that model (a zero or scaled site, an SAE latent set or
        ablated) and a latent page shows its latent on a typed prompt; the model must be the one the caches were written
        from where they record a fingerprint (else exit 2). With a codebook cache, the codebook bundle it records (or
        --codebooks BUNDLE) is inserted into the model and /live also forces or disables codes; a bundle made for another
        model, or whose codebooks differ from the cache's in name, codes or k, is refused (exit 2). The server binds 127.0.0.1 unless --host says otherwise; --port 0 picks a free port. The URL is printed
        once the server listens; stop it with Ctrl-C.
        """
    )

    @Argument(help: "Cache folders to serve.")
    var caches: [String]

    @Option(parsing: .unconditional, help: "The port (0: a free port, printed at start-up).")
    var port: Int = 8080

    @Option(help: "The address to bind (127.0.0.1: this machine only).")
    var host: String = "127.0.0.1"

    @Option(help: "A model for the live pages (a folder, GGUF, .safetensors or hub name, as the other commands read it).")
    var model: String?

    @Option(help: "With --model: a codebook bundle inserted into the model for the live code actions (default: the bundle the codebook caches record, if that folder exists).")
    var codebooks: String?

    func run() throws {
        let site: BrowserSite
        do {
            try BrowserServer.validate(host: host, port: port)
            let served = try loadCaches(caches)
            guard model != nil || codebooks == nil else {
                throw ServeError.invalidOption(field: "--codebooks", value: "'\(codebooks!)' without --model", allowed: "--codebooks together with --model")
            }
            site = BrowserSite(caches: served, live: try model.map { try loadLiveModel($0, caches: served, codebooks: codebooks) })
        } catch { throw fail(error) }
        let host = self.host, port = self.port
        let outcome = ServeOutcome()
        let done = DispatchSemaphore(value: 0)
        Task {
            do {
                let app = BrowserServer.application(site: site, host: host, port: port) { bound in
                    let shown = host.contains(":") ? "[\(host)]" : host
                    FileHandle.standardOutput.write(Data("intervene serve: \(site.caches.count) cache(s) at http://\(shown):\(bound)/\(site.live == nil ? "" : " (live interventions at /live)")\n".utf8))
                }
                try await app.runService()
            } catch { outcome.set(ServeError.serverFailed(address: "\(host):\(port)", reason: "\(error)")) }
            done.signal()
        }
        done.wait()
        if let error = outcome.error { throw fail(error) }
    }
}

/// Reads every folder, refusing the first that is missing or not a cache.
func loadCaches(_ paths: [String]) throws -> [ServedCache] {
    guard !paths.isEmpty else { throw ServeError.invalidOption(field: "CACHE_DIR", value: "none", allowed: "one or more cache folders") }
    return try paths.map { try ServedCache.load($0) }
}

/// Loads the model of `--model`, refusing one whose fingerprint differs from a cache's, the
/// SAE of each latent cache whose `sae.source` still reads (a note on standard error otherwise)
/// and the codebook bundle of the codebook caches (`liveCodebooks`).
func loadLiveModel(_ name: String, caches: [ServedCache], codebooks: String? = nil) throws -> LiveModel {
    let loaded = try ModelLoader.load(named: name)
    let tokenizer = try loaded.requireTokenizer()
    let fingerprint = ModelFingerprint.of(loaded.model)
    var autoencoders: [Int: SparseAutoencoder] = [:]
    for (i, cache) in caches.enumerated() {
        switch cache {
        case .codebook(let path, let manifest, _, _):
            guard let decoder = loaded.model as? DecoderModel else { continue }
            let base = CodebookBundle.baseFingerprint(decoder)
            guard manifest.model.fingerprint.isEmpty || manifest.model.fingerprint == base || manifest.model.fingerprint == fingerprint else {
                throw ServeError.invalidOption(field: "--model", value: "'\(name)' (fingerprint \(base))",
                                               allowed: "the model cache '\(path)' was written from (fingerprint \(manifest.model.fingerprint), \(manifest.model.source))")
            }
        case .latents(let path, let contents):
            let m = contents.manifest
            guard m.model.fingerprint.isEmpty || m.model.fingerprint == fingerprint else {
                throw ServeError.invalidOption(field: "--model", value: "'\(name)' (fingerprint \(fingerprint))",
                                               allowed: "the model cache '\(path)' was written from (fingerprint \(m.model.fingerprint), \(m.model.source))")
            }
            // The file's own settings first, then the manifest's architecture and k (a bare checkpoint).
            let recorded = m.sae.k.map { ["--architecture", m.sae.architecture, "--k", "\($0)"] } ?? ["--architecture", m.sae.architecture]
            let read = (try? SAEImportChoices.parse([]).load(m.sae.source)) ?? (try? SAEImportChoices.parse(recorded).load(m.sae.source))
            if let sae = read?.0, sae.width == m.sae.dIn, sae.latents == m.sae.dSae {
                autoencoders[i] = sae
            } else {
                FileHandle.standardError.write(Data("note: the SAE of '\(path)' (\(m.sae.source)) cannot be read; its latents are not live\n".utf8))
            }
        case .experiment:
            continue
        }
    }
    let inserted = try (loaded.model as? DecoderModel).flatMap { try liveCodebooks(codebooks, onto: $0, modelName: name, caches: caches) }
    return LiveModel(model: loaded.model, tokenizer: tokenizer, source: loaded.source, autoencoders: autoencoders, codebooks: inserted)
}

/// The codebook bundle `explicit` (else the first existing bundle folder a codebook cache
/// records) loaded onto `decoder`, after checking it was made for this model and that every
/// codebook cache's codebooks are the bundle's (name, codes, k); nil when there is no codebook
/// cache or no bundle is found (a note on standard error then).
func liveCodebooks(_ explicit: String?, onto decoder: DecoderModel, modelName: String, caches: [ServedCache]) throws -> CodebookModel? {
    let codebookCaches = caches.compactMap { cache -> (path: String, manifest: CodebookCacheManifest)? in
        if case .codebook(let path, let manifest, _, _) = cache { return (path, manifest) }
        return nil
    }
    guard !codebookCaches.isEmpty || explicit != nil else { return nil }
    var isDirectory: ObjCBool = false
    let recorded = codebookCaches.compactMap(\.manifest.bundle)
    guard let bundle = explicit ?? recorded.first(where: { FileManager.default.fileExists(atPath: $0, isDirectory: &isDirectory) && isDirectory.boolValue }) else {
        FileHandle.standardError.write(Data("note: no codebook bundle found (the caches record \(recorded.isEmpty ? "none" : recorded.joined(separator: ", "))); the live code actions are off (--codebooks BUNDLE turns them on)\n".utf8))
        return nil
    }
    let field = explicit == nil ? "the codebook bundle the caches record" : "--codebooks"
    let model: CodebookModel
    do { model = try CodebookBundle.load(from: bundle, onto: decoder) } catch {
        if let mismatch = error as? BundleError, case .modelMismatch(_, _, let made, let actual) = mismatch {
            throw ServeError.invalidOption(field: field, value: "'\(bundle)' (made for fingerprint \(made))", allowed: "a bundle made for --model '\(modelName)' (fingerprint \(actual))")
        }
        throw ServeError.invalidOption(field: field, value: "'\(bundle)'", allowed: "a codebook bundle folder for --model '\(modelName)' (\(error))")
    }
    for (path, manifest) in codebookCaches {
        for (i, entry) in manifest.codebooks.enumerated() {
            let layer = model.codebook(named: entry.name)
            guard let layer, layer.codeCount == entry.codes, layer.k == entry.k else {
                let found = layer.map { "\($0.codeCount) codes, k = \($0.k)" } ?? "no such codebook"
                throw ServeError.invalidOption(field: field, value: "'\(bundle)' (codebook '\(entry.name)': \(found))",
                                               allowed: "the bundle cache '\(path)' was written with (codebooks[\(i)] '\(entry.name)': \(entry.codes) codes, k = \(entry.k))")
            }
        }
    }
    return model
}

/// The error that ended the server, handed from its task to the blocked command.
final class ServeOutcome: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Error?
    var error: Error? { lock.withLock { stored } }
    func set(_ error: Error) { lock.withLock { stored = error } }
}

extension ServeError: CausalAbstractionInputError {}
