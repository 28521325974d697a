import ArgumentParser
import Foundation
import InterveneServer

/// `intervene serve CACHE_DIR… [--port P] [--host H]`: the browser for codebook and latent caches.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Browse codebook and latent cache folders in a web browser (server-rendered pages, nothing fetched from outside).",
        discussion: """
        Each folder is recognised by its manifest.json: a codebook cache (written by `intervene codebook cache`) or a latent
        cache (written by `intervene sae latents`). A missing or unrecognised folder is refused before the server starts
        (exit 2). The server binds 127.0.0.1 unless --host says otherwise; --port 0 picks a free port. The URL is printed
        once the server listens; stop it with Ctrl-C.
        """
    )

    @Argument(help: "Cache folders to serve.")
    var caches: [String]

    @Option(parsing: .unconditional, help: "The port (0: a free port, printed at start-up).")
    var port: Int = 8080

    @Option(help: "The address to bind (127.0.0.1: this machine only).")
    var host: String = "127.0.0.1"

    func run() throws {
        let site: BrowserSite
        do {
            try BrowserServer.validate(host: host, port: port)
            site = BrowserSite(caches: try loadCaches(caches))
        } catch { throw fail(error) }
        let host = self.host, port = self.port
        let outcome = ServeOutcome()
        let done = DispatchSemaphore(value: 0)
        Task {
            do {
                let app = BrowserServer.application(site: site, host: host, port: port) { bound in
                    let shown = host.contains(":") ? "[\(host)]" : host
                    FileHandle.standardOutput.write(Data("intervene serve: \(site.caches.count) cache(s) at http://\(shown):\(bound)/\n".utf8))
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

/// The error that ended the server, handed from its task to the blocked command.
final class ServeOutcome: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Error?
    var error: Error? { lock.withLock { stored } }
    func set(_ error: Error) { lock.withLock { stored = error } }
}

extension ServeError: CausalAbstractionInputError {}
