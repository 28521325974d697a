import ArgumentParser
import Foundation
import InterveneServer

/// `intervene export-html CACHE_DIR… --out SITE/`: the browser's pages as a static site.
struct ExportHTMLCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-html",
        abstract: "Write the browser's pages for cache and experiment folders as a static site (index, caches, codes, latents, sweep cells, trace grids; no search).",
        discussion: """
        SITE/index.html links one page per cache; a codebook cache's page lists its codes that fire and a latent cache's
        page its latents, the most frequent first, up to --max-pages each, and a page is written for each one listed.
        Experiment folders (as `intervene serve` reads them) add a page per finished sweep cell and its bundle, and per trace grid.
        An existing SITE folder is replaced only when empty or written by export-html.
        """
    )

    @Argument(help: "Cache folders to export.")
    var caches: [String]

    @Option(help: "The site folder to write.")
    var out: String

    @Option(name: .customLong("max-pages"), parsing: .unconditional, help: "Code pages per codebook and latent pages per cache, at most.")
    var maxPages: Int = 2_000

    func run() throws {
        do {
            let pages = try StaticExport.write(try loadCaches(caches), to: out, pageLimit: maxPages)
            print("export-html: wrote \(pages) pages to \(out)/index.html")
        } catch { throw fail(error) }
    }
}
