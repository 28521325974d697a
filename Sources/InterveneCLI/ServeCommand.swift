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
        from where they record a fingerprint (else exit 2). The server binds 127.0.0.1 unless --host says otherwise; --port 0 picks a free port. The URL is printed
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

    func run() throws {
        let site: BrowserSite
        do {
            try BrowserServer.validate(host: host, port: port)
            let served = try loadCaches(caches)
            site = BrowserSite(caches: served, live: try model.map { try loadLiveModel($0, caches: served) })
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

/// Loads the model of `--model`, refusing one whose fingerprint differs from a cache's, and the
/// SAE of each latent cache whose `sae.source` still reads (a note on standard error otherwise).
func loadLiveModel(_ name: String, caches: [ServedCache]) throws -> LiveModel {
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
    return LiveModel(model: loaded.model, tokenizer: tokenizer, source: loaded.source, autoencoders: autoencoders)
}

/// The error that ended the server, handed from its task to the blocked command.
final class ServeOutcome: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Error?
    var error: Error? { lock.withLock { stored } }
    func set(_ error: Error) { lock.withLock { stored = error } }
}

extension ServeError: CausalAbstractionInputError {}
