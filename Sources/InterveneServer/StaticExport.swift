import Foundation
import Tensors

/// `intervene export-html`: the browser's pages written as a static site — index.html, one
/// page per cache, and the pages its overview lists (codes that fire and latents, most
/// frequent first, at most `BrowserSite.staticPageLimit` each, the demo codes, and the first
/// `staticPageLimit` documents with their topic codes at the default fraction, each topic code
/// with its page) and, for experiment folders,
/// every finished sweep cell with its bundle and every trace grid, linked by relative file names.
/// Search needs a server and is left out.
public enum StaticExport {
    /// The file marking a folder as an exported site, so a re-export may replace it.
    public static let marker = ".intervene-site"

    /// Writes the site for `caches` to the folder `out` (atomically; an existing `out` is
    /// replaced only when it is empty or an earlier export, else `ServeError.invalidOption`).
    /// Returns the number of pages written.
    @discardableResult
    public static func write(_ caches: [ServedCache], to out: String, pageLimit: Int = 2_000) throws -> Int {
        guard pageLimit >= 1 else { throw ServeError.invalidOption(field: "--max-pages", value: "\(pageLimit)", allowed: "an integer ≥ 1") }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: out, isDirectory: &isDirectory) {
            let entries = isDirectory.boolValue ? ((try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []) : ["(a file)"]
            guard entries.isEmpty || entries.contains(marker) else {
                throw ServeError.invalidOption(field: "--out", value: "'\(out)' (exists and is not an earlier export)",
                                               allowed: "a new or empty folder, or a folder written by export-html")
            }
        }
        let site = BrowserSite(caches: caches, links: .staticSite, staticPageLimit: pageLimit)
        var pages: [(String, String)] = [("index.html", site.indexPage())]
        func render(_ file: String, _ path: String) {
            pages.append((file, site.respond(path: path, query: nil).html))
        }
        for (i, cache) in caches.enumerated() {
            render(site.links.cache(i), "/cache/\(i)")
            switch cache {
            case .codebook(_, let manifest, let codes, let counts):
                let listing = CodebookPages(site: site, cache: i, manifest: manifest, codes: codes, counts: counts)
                var written = Set<[Int]>()
                func code(_ b: Int, _ c: Int) {
                    guard written.insert([b, c]).inserted else { return }
                    render(site.links.code(i, codebook: b, code: c), "/cache/\(i)/codebook/\(b)/code/\(c)")
                }
                for b in codes.codebooks.indices { for (c, _) in listing.listedCodes(b) { code(b, c) } }
                // Demo codes are listed on the overview whether they fire often or not.
                for entry in (try? DemoCodes.read(folder: cache.path, codes: codes)) ?? [] {
                    if let b = codes.codebooks.firstIndex(where: { $0.name == entry.codebook }) { code(b, entry.code) }
                }
                for d in 0..<listing.writtenDocuments {
                    render(site.links.document(i, d), "/cache/\(i)/document/\(d)")
                    // A document page links its topic codes: they get pages too.
                    for m in listing.defaultTopicCodes(document: d) {
                        if let b = codes.codebooks.firstIndex(where: { $0.name == m.codebook }) { code(b, m.code) }
                    }
                }
            case .latents(_, let contents):
                let listing = LatentPages(site: site, cache: i, contents: contents)
                for l in listing.ordered(by: "firing").prefix(pageLimit) { render(site.links.latent(i, l), "/cache/\(i)/latent/\(l)") }
            case .experiment(_, let folder):
                for path in ExperimentPages(site: site, cache: i, folder: folder).staticPaths() {
                    render(path.dropFirst().replacingOccurrences(of: "/", with: "-") + ".html", path)
                }
            }
        }
        try FileSystem.writeDirectoryAtomically(out) { temporary in
            for (file, html) in pages { try Data(html.utf8).write(to: URL(fileURLWithPath: temporary + "/" + file)) }
            try Data("written by intervene export-html\n".utf8).write(to: URL(fileURLWithPath: temporary + "/" + marker))
        }
        return pages.count
    }
}
