import Foundation
import Testing
@testable import Features
@testable import InterveneServer

/// Every page and every refusal of `BrowserSite.respond`, without a network.
@Suite struct BrowserPageTests {
    func get(_ site: BrowserSite, _ path: String, _ query: String? = nil) -> BrowserPage { site.respond(path: path, query: query) }

    @Test func escapesMarkup() {
        #expect(HTML.escape("<a href=\"x\">&'</a>") == "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;")
        #expect(HTML.piece("a\n\t<") == "a⏎→&lt;")
        #expect(HTML.number(0.75) == "0.75" && HTML.number(1) == "1" && HTML.number(1.0 / 3) == "0.333")
    }

    @Test func indexListsBothCachesWithTheirMetrics() throws {
        let f = try BrowserFixture()
        defer { f.cleanUp() }
        let page = get(BrowserSite(caches: f.caches), "/")
        #expect(page.status == 200)
        #expect(page.html.contains("href=\"/cache/0\"") && page.html.contains("href=\"/cache/1\""))
        #expect(page.html.contains("9 tokens") && page.html.contains("loss = 2.5"))
        #expect(page.html.contains("cb: 4/4 codes used") && page.html.contains("cb2: 3/3 codes used"))
        #expect(page.html.contains("3 latents, 10 tokens") && page.html.contains("mean_l0 = 0.4"))  // 4 firings / 10 tokens
        #expect(!page.html.contains("http://") || !page.html.contains("src=\"http"))  // nothing fetched from elsewhere
    }

    @Test func codeSearchShowsPrecisionAndRecallOfEachCode() throws {
        let f = try BrowserFixture()
        defer { f.cleanUp() }
        let site = BrowserSite(caches: f.caches)
        let page = get(site, "/cache/0/search", "regex=at&codebook=cb")
        #expect(page.status == 200)
        #expect(page.html.contains("matches <b>4</b> of 9 tokens"))
        // " cat" ×3 and " sat", " <mat>": code 1 fires on the three " cat"/" <mat>" tokens, all matched.
        #expect(page.html.contains("<td>cb</td><td><a href=\"/cache/0/codebook/0/code/1\">1</a></td><td>1</td><td>0.75</td><td>3</td><td>3</td>"))
        #expect(page.html.contains("<td>cb</td><td><a href=\"/cache/0/codebook/0/code/2\">2</a></td><td>0.5</td><td>0.25</td><td>2</td><td>1</td>"))
        // Every code the library finds is on the page, in its order.
        let expected = try CodeSearch.search(try browserCodes(), pattern: "at")
        let all = get(site, "/cache/0/search", "regex=at&limit=1000")
        var last = all.html.startIndex
        for m in expected.matches {
            let b = m.codebook == "cb" ? 0 : 1
            let cell = "<a href=\"/cache/0/codebook/\(b)/code/\(m.code)\">\(m.code)</a></td><td>\(HTML.number(m.precision))</td><td>\(HTML.number(m.recall))</td>"
            let found = try #require(all.html.range(of: cell, range: last..<all.html.endIndex), "\(m)")
            last = found.upperBound
        }
        // Threshold, sort and limit.
        let strict = get(site, "/cache/0/search", "regex=at&min_precision=1")
        #expect(strict.status == 200 && occurrences(of: "<tr><td>", in: strict.html) == expected.matches.filter { $0.precision >= 1 }.count)
        let one = get(site, "/cache/0/search", "regex=at&sort=recall&limit=1")
        #expect(occurrences(of: "<tr><td>", in: one.html) == 1)
        let top = try #require(try CodeSearch.search(try browserCodes(), pattern: "at", options: .init(sort: .recall, limit: 1)).matches.first)
        #expect(one.html.contains("code/\(top.code)\">\(top.code)</a></td><td>\(HTML.number(top.precision))"))
        // The neuron baseline: the library's best neuron at each code's recall.
        let withBaseline = get(site, "/cache/0/search", "regex=at&codebook=cb&baseline=1")
        let matched = try CodeSearch.matchingTokens("at", in: try browserCodes().documents)
        let best = try #require(try CodeSearch.bestNeuron(try browserCodes(), matched: matched, recall: 0.75))
        #expect(withBaseline.html.contains("<td>0.75</td><td>3</td><td>3</td><td>n[\(best.neuron)] ≥ \(HTML.number(Double(best.threshold)))</td><td>\(HTML.number(best.precision))</td>"))
        #expect(get(site, "/cache/0/search", "regex=at&baseline=2").status == 400)
        // The form keeps the typed values, escaped.
        let quoted = get(site, "/cache/0/search", "regex=%22%3E%3Cscript%3E")
        #expect(quoted.status == 200 && quoted.html.contains("value=\"&quot;&gt;&lt;script&gt;\"") && !quoted.html.contains("\"><script>"))
    }

    @Test func codePagesShowTokensInContext() throws {
        let f = try BrowserFixture()
        defer { f.cleanUp() }
        let site = BrowserSite(caches: f.caches)
        let page = get(site, "/cache/0/codebook/0/code/1", "context=8")
        #expect(page.status == 200)
        #expect(occurrences(of: "class=\"ctx\"", in: page.html) == 3)  // " cat", " <mat>", " cat"
        #expect(occurrences(of: "tok hit", in: page.html) == 3)
        #expect(occurrences(of: "tok also", in: page.html) == 2)  // document 0 holds two activations
        #expect(page.html.contains(" &lt;mat&gt;") && page.html.contains(" ran⏎"))
        let narrow = get(site, "/cache/0/codebook/0/code/1", "context=0&limit=2")
        #expect(occurrences(of: "class=\"ctx\"", in: narrow.html) == 2 && occurrences(of: "class=\"tok\"", in: narrow.html) == 0)
        // cb2 (k = 2): code 0 holds slot 1 on three tokens; max_slot=0 keeps the others.
        let slot0 = get(site, "/cache/0/codebook/1/code/0", "max_slot=0")
        #expect(slot0.status == 200 && !slot0.html.contains("slot 1"))
        #expect(get(site, "/cache/0/codebook/1/code/0").html.contains("slot 1"))
    }

    @Test func latentPagesShowHistogramContextsAndPromotedTokens() throws {
        let f = try BrowserFixture()
        defer { f.cleanUp() }
        let site = BrowserSite(caches: f.caches)
        let page = get(site, "/cache/1/latent/0")
        #expect(page.status == 200)
        #expect(page.html.contains("<svg") && occurrences(of: "class=\"bar\"", in: page.html) == 4)
        #expect(page.html.contains("<title>2 ≤ z &lt; 3: 1</title>"))
        #expect(occurrences(of: "class=\"ctx\"", in: page.html) == 2 && page.html.contains("z = 2 ·") && page.html.contains("z = 1.5 ·"))
        #expect(page.html.contains("title=\"id 2\"> cat</span>") && page.html.contains("title=\"id 5\">⏎</span>"))
        #expect(page.html.contains("<td><code>&lt;b&gt;</code></td><td>2</td>") && !page.html.contains("<b>"))
        #expect(page.html.contains("<td><code>&lt;s&gt;</code></td><td>-2</td>"))
        #expect(get(site, "/cache/1/latent/2").html.contains("never fires"))
        #expect(get(site, "/cache/1/latent", "latent=1").html.contains("Latent 1 at L0.block_output"))
        let table = get(site, "/cache/1", "sort=max")
        #expect(table.status == 200 && table.html.contains("/cache/1/latent/0\">0</a></td><td>3</td><td>0.3</td><td>2</td>"))
    }

    /// Each bad input: a 4xx page whose message names what is wrong and what is allowed.
    @Test func badInputsAreRefusedWithAMessageAndA4xx() throws {
        let f = try BrowserFixture()
        defer { f.cleanUp() }
        let site = BrowserSite(caches: f.caches)
        let cases: [(String, String?, Int, String)] = [
            ("/cache/0/search", "regex=(", 400, "is not a valid regular expression"),
            ("/cache/0/search", "regex=", 400, "regex is missing or empty"),
            ("/cache/0/search", nil, 400, "regex is missing or empty"),
            ("/cache/0/search", "regex=a&min_precision=2", 400, "min_precision is &#39;2&#39;; allowed: a number in 0.0...1.0"),
            ("/cache/0/search", "regex=a&min_precision=nan", 400, "min_precision"),
            ("/cache/0/search", "regex=a&sort=size", 400, "allowed: precision, recall, count"),
            ("/cache/0/search", "regex=a&limit=0", 400, "limit 0 is out of range; allowed: 1...1000"),
            ("/cache/0/search", "regex=a&limit=-3", 400, "limit is &#39;-3&#39;"),
            ("/cache/0/search", "regex=a&codebook=nope", 400, "codebook is &#39;nope&#39;"),
            ("/cache/0/search", "regex=a&regex=b", 400, "is given twice"),
            ("/cache/0/search", "regex=a&drop=1", 400, "unknown query parameter &#39;drop&#39;"),
            ("/cache/0/search", "regex=" + String(repeating: "a", count: 1_001), 400, "1001 characters long; allowed: at most 1000"),
            ("/cache/0/search", "regex=" + String(repeating: "a", count: 100_000), 414, "the query is 100006 characters long"),
            ("/cache/0/search", "regex=%zz", 400, "malformed percent escape"),
            ("/cache/0/codebook/0/code/4", nil, 404, "code 4 is out of range; allowed: 0...3"),
            ("/cache/0/codebook/0/code/99999999999999", nil, 404, "out of range"),
            ("/cache/0/codebook/0/code/x", nil, 400, "code is &#39;x&#39;"),
            ("/cache/0/codebook/2/code/0", nil, 404, "codebook 2 is out of range; allowed: 0...1"),
            ("/cache/0/codebook/0/code/1", "context=65", 400, "context 65 is out of range; allowed: 0...64"),
            ("/cache/0/codebook/0/code/1", "max_slot=1", 400, "max_slot 1 is out of range; allowed: 0...0"),
            ("/cache/1/latent/3", nil, 404, "latent 3 is out of range; allowed: 0...2"),
            ("/cache/1/latent/-1", nil, 400, "latent is &#39;-1&#39;"),
            ("/cache/1/latent", "latent=7", 404, "latent 7 is out of range"),
            ("/cache/1", "page=1", 400, "page 1 is out of range; allowed: 0...0"),
            ("/cache/1/search", "regex=a", 404, "no page at /cache/1/search"),
            ("/cache/2", nil, 404, "cache 2 is out of range; allowed: 0...1"),
            ("/cache/../etc/passwd", nil, 400, "path segment &#39;..&#39; is refused"),
            ("/cache/0/%2e%2e/%2e%2e/manifest.json", nil, 400, "path segment &#39;..&#39; is refused"),
            ("/cache/0/..%2f..%2fmanifest.json", nil, 400, "is refused"),
            ("/etc/passwd", nil, 404, "no page at /etc/passwd"),
            ("/manifest.json", nil, 404, "no page"),
            ("/" + String(repeating: "x", count: 2_000), nil, 414, "the path is 2001 characters long"),
            ("/", "x=1", 400, "unknown query parameter &#39;x&#39;; allowed: none"),
        ]
        for (path, query, status, message) in cases {
            let page = get(site, path, query)
            #expect(page.status == status, "\(path.prefix(60)) \(query?.prefix(60) ?? "")")
            #expect(page.html.contains("class=\"error\"") && page.html.contains(message), "\(path.prefix(60)) \(query?.prefix(60) ?? ""): \(page.html.prefix(1500))")
        }
        let post = site.respond(method: "POST", path: "/", query: nil)
        #expect(post.status == 405 && post.html.contains("allowed: GET, HEAD"))
    }

    @Test func foldersThatAreNotCachesAreRefusedNamingTheFolder() throws {
        let missing = temporaryPath("missing")
        #expect(throws: ServeError.missingFolder(path: missing)) { try ServedCache.load(missing) }
        let empty = temporaryPath("empty")
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: empty) }
        #expect(throws: ServeError.unrecognisedFolder(path: empty, found: "no manifest.json, " + ExperimentFolder.markers.joined(separator: ", "))) { try ServedCache.load(empty) }
        try Data("{\"kind\": \"bundle\"}".utf8).write(to: URL(fileURLWithPath: empty + "/manifest.json"))
        #expect(throws: ServeError.unrecognisedFolder(path: empty, found: "manifest kind \"bundle\"")) { try ServedCache.load(empty) }
        try Data("{\"kind\": \"codebook-cache\", \"version\": 1}".utf8).write(to: URL(fileURLWithPath: empty + "/manifest.json"))
        do { _ = try ServedCache.load(empty); Issue.record("a damaged cache was accepted") } catch let error as ServeError {
            guard case .unreadableCache(let path, _) = error else { Issue.record("\(error)"); return }
            #expect(path == empty && "\(error)".contains(empty))
        }
    }
}
