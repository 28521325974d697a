import Foundation
import Testing
import Features
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
        // index + 2 cache pages + 4 + 3 codes + 3 latents + 2 documents.
        #expect(pages == 15 && files.count == 16 && files.contains(StaticExport.marker))
        #expect(files.contains("cache-0-document-1.html"))
        #expect(files.contains("cache-0-codebook-0-code-3.html") && files.contains("cache-1-latent-2.html"))
        let latent = try String(contentsOfFile: out + "/cache-1-latent-0.html", encoding: .utf8)
        #expect(latent.contains("id=\"histogram\"") && latent.contains("<td><code>&lt;b&gt;</code></td><td>2</td>"))
        try expectLinksResolve(in: out, files: files)
        // A re-export replaces the site; a folder with other files is refused.
        // One code per codebook, one latent, one document — and that document's other topic codes.
        #expect(try StaticExport.write(f.caches, to: out, pageLimit: 1) == 1 + 2 + 2 + 1 + 1 + 3)
        try expectLinksResolve(in: out, files: Set(try FileManager.default.contentsOfDirectory(atPath: out)))
        let other = temporaryPath("other")
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: URL(fileURLWithPath: other + "/notes.txt"))
        defer { try? FileManager.default.removeItem(atPath: other) }
        #expect(throws: ServeError.self) { try StaticExport.write(f.caches, to: other) }
        #expect(try String(contentsOfFile: other + "/notes.txt", encoding: .utf8) == "keep")
    }

    /// The TokFSM cache with one page per kind: a demo code that is not among the listed
    /// (most frequent) codes still gets its page, and documents get theirs with their topic
    /// codes; no link dangles.
    @Test func writesDemoCodesAndDocumentPages() throws {
        let folder = temporaryPath("tokfsm-copy"), out = temporaryPath("tokfsm-site")
        defer { for p in [folder, out] { try? FileManager.default.removeItem(atPath: p) } }
        try FileManager.default.copyItem(atPath: serverRepositoryRoot + "/Tests/Fixtures/tokfsm-codebook-cache", toPath: folder)
        guard case .codebook(_, _, let codes, let counts) = try ServedCache.load(folder) else { Issue.record("not a codebook cache"); return }
        // The least frequent code of the last codebook that fires: never listed with a page limit of 2.
        let b = codes.codebooks.count - 1
        let rare = try #require(counts[b].enumerated().filter { $0.element > 0 }.min { $0.element < $1.element }?.offset)
        _ = try DemoCodes.save(DemoCode(codebook: codes.codebooks[b].name, code: rare, description: "rare", created: "now"), folder: folder, codes: codes)
        let cache = try ServedCache.load(folder)
        let pages = try StaticExport.write([cache], to: out, pageLimit: 2)
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: out))
        #expect(files.contains("cache-0-codebook-\(b)-code-\(rare).html"))
        #expect(files.contains("cache-0-document-0.html") && files.contains("cache-0-document-1.html") && !files.contains("cache-0-document-2.html"))
        #expect(pages == files.count - 1)
        let document = try String(contentsOfFile: out + "/cache-0-document-0.html", encoding: .utf8)
        let topics = try CodeSearch.topicCodes(codes, document: 0, options: CodeSearchOptions(minPrecision: 0.01, minRecall: 0.2, sort: .recall, limit: 100))
        #expect(document.contains("id=\"topic-codes\"") && occurrences(of: "<tr><td>", in: document) == topics.count)
        let overview = try String(contentsOfFile: out + "/cache-0.html", encoding: .utf8)
        #expect(overview.contains("<a href=\"cache-0-codebook-\(b)-code-\(rare).html\">\(rare)</a>") && overview.contains("id=\"documents\""))
        try expectLinksResolve(in: out, files: files)
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
