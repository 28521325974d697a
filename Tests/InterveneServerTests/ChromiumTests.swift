import Foundation
import HummingbirdTesting
import Testing
@testable import Features
@testable import InterveneServer
import Models

/// The pages in a real headless Chromium: the inline script runs under the page's
/// Content-Security-Policy, the search, code, latent and error pages render, and a screenshot of
/// each is written to BROWSER_SCREENSHOTS (default: a temporary folder).
@Suite(.enabled(if: HeadlessChromium.path != nil, Comment(rawValue: HeadlessChromium.missing)))
struct ChromiumTests {
    @Test func pagesRenderInChromium() async throws {
        let f = try BrowserFixture()
        defer { f.cleanUp() }
        let shots = ProcessInfo.processInfo.environment["BROWSER_SCREENSHOTS"] ?? temporaryPath("screenshots")
        try FileManager.default.createDirectory(atPath: shots, withIntermediateDirectories: true)
        let app = BrowserServer.application(site: BrowserSite(caches: f.caches))
        try await app.test(.live) { client in
            let base = "http://127.0.0.1:\(try #require(client.port))"
            let search = try await HeadlessChromium.dom(base + "/cache/0/search?regex=at&codebook=cb")
            #expect(search.contains("data-scripted=\"yes\""))  // the inline script ran
            #expect(search.contains("<td>1</td><td>0.75</td><td>3</td><td>3</td>"))
            let latent = try await HeadlessChromium.dom(base + "/cache/1/latent/0")
            #expect(latent.contains("id=\"histogram\"") && latent.contains("class=\"ctx\""))
            let refused = try await HeadlessChromium.dom(base + "/cache/0/search?regex=%28")
            #expect(refused.contains("is not a valid regular expression"))
            for (name, path) in [("index", "/"), ("search", "/cache/0/search?regex=at"), ("code", "/cache/0/codebook/0/code/1"),
                                 ("latent", "/cache/1/latent/0"), ("refused", "/cache/0/search?regex=%28")] {
                let file = shots + "/\(name).png"
                try await HeadlessChromium.screenshot(base + path, to: file)
                let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
                #expect(size > 1_000, "\(file)")
            }
        }
    }

    /// The issue's must-show: code search over the codebook tutorial's TokFSM cache (the quick
    /// mode's `--cache DIR --cache-sequences 24`, Tests/Fixtures/tokfsm-codebook-cache) returns
    /// state 6's codes — ` 0(6)` picks the last digit of "06" — with the precision and recall
    /// `CodeSearch.search` gives on the same cache.
    @Test func codeSearchShowsTheTokFSMStateCodesWithTheirPrecision() async throws {
        let path = serverRepositoryRoot + "/Tests/Fixtures/tokfsm-codebook-cache"
        let cache = try ServedCache.load(path)
        guard case .codebook(_, _, let codes, _) = cache else { Issue.record("not a codebook cache"); return }
        let expected = try CodeSearch.search(codes, pattern: " 0(6)", options: CodeSearchOptions(sort: .precision, limit: 50))
        let best = try #require(expected.matches.first)
        #expect(best.codebook == "L0.mlp" && best.precision == 1 && best.recall == 1, "\(best)")  // a perfect state code
        let shots = ProcessInfo.processInfo.environment["BROWSER_SCREENSHOTS"] ?? temporaryPath("screenshots")
        try FileManager.default.createDirectory(atPath: shots, withIntermediateDirectories: true)
        let app = BrowserServer.application(site: BrowserSite(caches: [cache]))
        try await app.test(.live) { client in
            let url = "http://127.0.0.1:\(try #require(client.port))/cache/0/search?regex=+0%286%29&sort=precision&limit=50"
            let dom = try await HeadlessChromium.dom(url)
            #expect(dom.contains("The pattern matches <b>\(expected.matchedTokens)</b> of 600 tokens; \(expected.matches.count) codes shown."), "\(dom.suffix(2000))")
            for m in expected.matches {
                let b = try #require(codes.codebooks.firstIndex { $0.name == m.codebook })
                let row = "<td>\(m.codebook)</td><td><a href=\"/cache/0/codebook/\(b)/code/\(m.code)\">\(m.code)</a></td><td>\(HTML.number(m.precision))</td>"
                    + "<td>\(HTML.number(m.recall))</td><td>\(m.activations)</td><td>\(m.matchedActivations)</td>"
                #expect(dom.contains(row), "\(row)")
            }
            try await Self.screenshot(url, to: shots + "/tokfsm-search.png")
            // A sequence's topic codes (codes covering ≥ 20% of its tokens), as topicCodes gives them.
            let topics = try CodeSearch.topicCodes(codes, document: 0, options: CodeSearchOptions(minPrecision: 0.01, minRecall: 0.2, sort: .recall, limit: 100))
            let document = "http://127.0.0.1:\(try #require(client.port))/cache/0/document/0?fraction=0.2"
            let topicDOM = try await HeadlessChromium.dom(document)
            #expect(!topics.isEmpty && occurrences(of: "<tr><td>", in: topicDOM) == topics.count, "\(topicDOM.suffix(1500))")
            try await Self.screenshot(document, to: shots + "/topic-codes.png")
        }
    }

    /// A sweep's heatmap page: the inline SVG is in the DOM with one linked rect per finished
    /// cell; a trace grid renders too. Screenshots heatmap.png and trace.png.
    @Test func heatmapPageRendersSVG() async throws {
        let f = try ExperimentFixture()
        defer { f.cleanUp() }
        let shots = try Self.screenshotFolder()
        let app = BrowserServer.application(site: BrowserSite(caches: f.caches))
        try await app.test(.live) { client in
            let base = "http://127.0.0.1:\(try #require(client.port))"
            let dom = try await HeadlessChromium.dom(base + "/cache/0")
            #expect(dom.contains("data-scripted=\"yes\"") && dom.contains("<svg"))
            #expect(occurrences(of: "<rect class=\"cell\"", in: dom) == 3, "\(dom.prefix(3000))")
            #expect(dom.contains("<a href=\"/cache/0/cell/2\"><g><title>cell 2: layer=1 low_rank_dimension=1; iia 0.9375</title>"))
            let grid = try await HeadlessChromium.dom(base + "/cache/1/grid/0")
            #expect(occurrences(of: "<rect class=\"cell\"", in: grid) == 6)
            for (name, path) in [("heatmap", "/cache/0"), ("trace", "/cache/1/grid/0")] {
                try await Self.screenshot(base + path, to: shots + "/\(name).png")
            }
        }
    }

    /// BROWSER_SCREENSHOTS (default: a temporary folder), created.
    static func screenshotFolder() throws -> String {
        let shots = ProcessInfo.processInfo.environment["BROWSER_SCREENSHOTS"] ?? temporaryPath("screenshots")
        try FileManager.default.createDirectory(atPath: shots, withIntermediateDirectories: true)
        return shots
    }

    /// A screenshot of `url` to `file`, expected to be a real picture (over 1 000 bytes).
    static func screenshot(_ url: String, to file: String) async throws {
        try await HeadlessChromium.screenshot(url, to: file)
        let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
        #expect(size > 1_000, "\(file)")
    }

    @Test func liveCodeActionRenders() async throws {
        let f = try CodebookLiveFixture()
        defer { f.cleanUp() }
        let shots = ProcessInfo.processInfo.environment["BROWSER_SCREENSHOTS"] ?? temporaryPath("screenshots")
        try FileManager.default.createDirectory(atPath: shots, withIntermediateDirectories: true)
        let app = BrowserServer.application(site: f.site)
        try await app.test(.live) { client in
            let url = "http://127.0.0.1:\(try #require(client.port))/live?prompt=the+quick+brown+fox&action=code-force&codebook=L1.mlp&code=3&slot=all&position=last"
            let dom = try await HeadlessChromium.dom(url)
            #expect(dom.contains("id=\"before\"") && dom.contains("id=\"after\"") && dom.contains("code 3 of L1.mlp forced into every slot"))
            try await Self.screenshot(url, to: shots + "/live-code.png")
        }
    }

    /// The first token cell of the table with `id` in a page.
    static func firstToken(_ html: String, table id: String) -> String? {
        guard let start = html.range(of: "id=\"\(id)\"") else { return nil }
        let rest = html[start.upperBound...]
        guard let body = rest.range(of: "<tbody>"), let open = rest[body.upperBound...].range(of: "<code>"),
              let close = rest[open.upperBound...].range(of: "</code>") else { return nil }
        return String(rest[open.upperBound..<close.lowerBound])
    }

    @Test func liveInterventionChangesTheShownTopToken() async throws {
        let f = try LiveFixture()
        defer { f.cleanUp() }
        let shots = ProcessInfo.processInfo.environment["BROWSER_SCREENSHOTS"] ?? temporaryPath("screenshots")
        try FileManager.default.createDirectory(atPath: shots, withIntermediateDirectories: true)
        let prompt = "the quick brown fox"
        // An action that moves the top next token of the tiny random model.
        let candidates: [(query: String, site: Site, action: LiveAction)] = [
            ("site=1%3Ablock_output&action=zero", Site(layer: 1, component: .blockOutput), .zero),
            ("site=1%3Ablock_output&action=scale&factor=-5", Site(layer: 1, component: .blockOutput), .scale(-5)),
            ("site=0%3Ablock_output&action=scale&factor=-5", Site(layer: 0, component: .blockOutput), .scale(-5)),
        ]
        let ids = f.live.encode(prompt)
        let chosen = try #require(try candidates.first { c in
            let r = try f.live.run(prompt: ids, site: c.site, action: c.action)
            return r.before[0].id != r.after[0].id
        })
        let app = BrowserServer.application(site: f.site)
        try await app.test(.live) { client in
            let url = "http://127.0.0.1:\(try #require(client.port))/live?prompt=the+quick+brown+fox&" + chosen.query
            let dom = try await HeadlessChromium.dom(url)
            let before = try #require(Self.firstToken(dom, table: "before")), after = try #require(Self.firstToken(dom, table: "after"))
            #expect(before != after, "\(before) vs \(after)")
            let file = shots + "/live.png"
            try await HeadlessChromium.screenshot(url, to: file)
            let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
            #expect(size > 1_000, "\(file)")
        }
    }
}
