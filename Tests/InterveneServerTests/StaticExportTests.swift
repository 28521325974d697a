import Foundation
import Testing
@testable import InterveneServer

/// `StaticExport.write`: the same pages as files with relative links, every link resolving.
@Suite struct StaticExportTests {
    /// Every href of every page in `out` names one of `files`; no page links a server route or has a search form.
    func expectLinksResolve(in out: String, files: Set<String>) throws {
        for file in files where file.hasSuffix(".html") {
            let html = try String(contentsOfFile: out + "/" + file, encoding: .utf8)
            #expect(!html.contains("href=\"/") && !html.contains("<form"), "\(file)")
            for part in html.components(separatedBy: "href=\"").dropFirst() {
                let target = String(part.prefix { $0 != "\"" })
                #expect(files.contains(target), "\(file) links \(target)")
            }
        }
    }

    @Test func writesLinkedPagesForEveryListedCodeAndLatent() throws {
        let f = try BrowserFixture()
        let out = temporaryPath("site")
        defer { f.cleanUp(); try? FileManager.default.removeItem(atPath: out) }
        let pages = try StaticExport.write(f.caches, to: out)
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: out))
        // index + 2 cache pages + 4 + 3 codes + 3 latents.
        #expect(pages == 13 && files.count == 14 && files.contains(StaticExport.marker))
        #expect(files.contains("cache-0-codebook-0-code-3.html") && files.contains("cache-1-latent-2.html"))
        let latent = try String(contentsOfFile: out + "/cache-1-latent-0.html", encoding: .utf8)
        #expect(latent.contains("id=\"histogram\"") && latent.contains("<td><code>&lt;b&gt;</code></td><td>2</td>"))
        try expectLinksResolve(in: out, files: files)
        // A re-export replaces the site; a folder with other files is refused.
        #expect(try StaticExport.write(f.caches, to: out, pageLimit: 1) == 1 + 2 + 2 + 1)
        let other = temporaryPath("other")
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: URL(fileURLWithPath: other + "/notes.txt"))
        defer { try? FileManager.default.removeItem(atPath: other) }
        #expect(throws: ServeError.self) { try StaticExport.write(f.caches, to: other) }
        #expect(try String(contentsOfFile: other + "/notes.txt", encoding: .utf8) == "keep")
    }

    @Test func writesSweepCellsBundlesAndTraceGrids() throws {
        let f = try ExperimentFixture()
        let out = temporaryPath("experiment-site")
        defer { f.cleanUp(); try? FileManager.default.removeItem(atPath: out) }
        let pages = try StaticExport.write(f.caches, to: out)
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: out))
        // index + 4 folder pages + 3 finished cells + cell 1's bundle + 1 trace grid.
        #expect(pages == 10 && files.count == 11)
        #expect(files.isSuperset(of: ["cache-0-cell-0.html", "cache-0-cell-2.html", "cache-0-cell-1-bundle.html", "cache-1-grid-0.html", "cache-3.html"]))
        #expect(!files.contains("cache-0-cell-3.html"))  // unfinished: not linked, not written
        let sweep = try String(contentsOfFile: out + "/cache-0.html", encoding: .utf8)
        #expect(sweep.contains("<a href=\"cache-0-cell-1.html\"><g><title>cell 1: layer=0 low_rank_dimension=2; iia 0.7500</title>"))
        let grid = try String(contentsOfFile: out + "/cache-1-grid-0.html", encoding: .utf8)
        #expect(grid.contains("effect +0.4000</title>"))
        try expectLinksResolve(in: out, files: files)
    }
}
