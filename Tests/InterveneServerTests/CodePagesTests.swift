import Foundation
@testable import Features
@testable import InterveneServer
import Testing

/// Topic codes, demo codes and the bounded regular-expression search of the codebook pages.
@Suite struct CodePagesTests {
    @Test func topicCodesAreTheSearchOverADocumentsTokens() throws {
        let codes = try browserCodes()
        for d in codes.documents.indices {
            let all = Set(codes.documents[d].ids.indices.map { TokenPosition(document: d, position: $0) })
            for fraction in [0, 0.2, 0.5, 1] {
                let options = CodeSearchOptions(minPrecision: 0.01, minRecall: fraction, sort: .recall)
                let topics = try CodeSearch.topicCodes(codes, document: d, options: options)
                let searched = try CodeSearch.search(codes, matched: all, pattern: "", options: options).matches
                #expect(topics == searched, "document \(d), fraction \(fraction)")
                #expect(topics.allSatisfy { $0.recall >= fraction })
            }
        }
        // Document 0: cb's codes 0 (both its activations) and 1 (2 of 3) each cover 2 of 6 tokens.
        let top = try CodeSearch.topicCodes(codes, document: 0, options: CodeSearchOptions(minRecall: 0.3, sort: .precision, codebooks: ["cb"]))
        #expect(top.map(\.code) == [0, 1] && abs(top[1].precision - 2.0 / 3) < 1e-12 && abs(top[0].recall - 1.0 / 3) < 1e-12)
        #expect(throws: CodeAnalysisError.self) { try CodeSearch.topicCodes(codes, document: 2, options: CodeSearchOptions()) }
        #expect(throws: CodeAnalysisError.self) { try CodeSearch.topicCodes(codes, document: 0, options: CodeSearchOptions(minRecall: 2)) }
    }

    @Test func theDocumentPageListsTopicCodes() throws {
        let f = try BrowserFixture()
        defer { f.cleanUp() }
        let site = BrowserSite(caches: f.caches)
        let page = site.respond(path: "/cache/0/document/0", query: "fraction=0.3&sort=precision&codebook=cb")
        #expect(page.status == 200, "\(page.html)")
        #expect(page.html.contains("<tr><td>cb</td><td><a href=\"/cache/0/codebook/0/code/0\">0</a></td><td>1</td><td>0.333</td><td>2</td><td>2</td></tr>"), "\(page.html)")
        #expect(page.html.contains("<td>0.667</td><td>0.333</td><td>2</td><td>3</td>") && occurrences(of: "class=\"tok\"", in: page.html) == 6)
        #expect(page.html.contains("id=\"next-with-topics\" href=\"/cache/0/document/1?fraction=0.3&min_precision=0.01&sort=precision&limit=100&codebook=cb\""))
        #expect(site.respond(path: "/cache/0/document", query: "document=1").html.contains("Document 1 of"))
        #expect(site.respond(path: "/cache/0/document/1", query: "fraction=1").html.contains("id=\"no-topics\""))
        #expect(site.respond(path: "/cache/0", query: nil).html.contains("id=\"open-document\""))
        #expect(site.respond(path: "/cache/0/codebook/0/code/1", query: nil).html.contains("<a href=\"/cache/0/document/1\">doc 1</a>"))
        let refused: [(String, String?, Int, String)] = [
            ("/cache/0/document/0", "fraction=2", 400, "fraction is '2'; allowed: a number in 0.0...1.0"),
            ("/cache/0/document/0", "fraction=abc", 400, "fraction is 'abc'"),
            ("/cache/0/document/0", "sort=size", 400, "sort is 'size'; allowed: precision, recall, count"),
            ("/cache/0/document/0", "codebook=zz", 400, "codebook is 'zz'"),
            ("/cache/0/document/0", "limit=0", 400, "limit 0 is out of range"),
            ("/cache/0/document/0", "bogus=1", 400, "unknown query parameter 'bogus'"),
            ("/cache/0/document/2", nil, 404, "document 2 is out of range; allowed: 0...1"),
            ("/cache/0/document/x", nil, 400, "document is 'x'"),
            ("/cache/0/document", "document=", 400, "document is ''"),
            ("/cache/0/document/0/extra", nil, 404, "no page at"),
            ("/cache/1/document/0", nil, 404, "no page at"),
        ]
        for (path, query, status, message) in refused {
            let page = site.respond(path: path, query: query)
            #expect(page.status == status && page.html.contains(HTML.escape(message)), "\(path)?\(query ?? ""): \(page.html.suffix(400))")
        }
    }

    /// POSTs a demo-code form from this server's own origin.
    func save(_ site: BrowserSite, _ form: String, origin: String? = "http://127.0.0.1:8080", cache: Int = 0) -> BrowserPage {
        site.respond(method: "POST", path: "/cache/\(cache)/demo-codes", query: nil, form: form, origin: origin, host: "127.0.0.1:8080")
    }

    @Test func demoCodesAreSavedListedAndValidated() throws {
        let f = try BrowserFixture()
        defer { f.cleanUp() }
        let site = BrowserSite(caches: f.caches)
        #expect(site.respond(path: "/cache/0", query: nil).html.contains("None saved yet"))
        let saved = save(site, "codebook=cb&code=1&description=cat+tokens+%3Cb%3E")
        #expect(saved.status == 200 && saved.html.contains("id=\"saved\"") && saved.html.contains("cat tokens &lt;b&gt;"), "\(saved.html)")
        #expect(save(site, "codebook=cb2&code=2&description=second").status == 200)
        #expect(save(site, "codebook=cb&code=1&description=cat+tokens").status == 200)  // re-described, not added
        let file = f.codebookPath + "/demo-codes.json"
        let document = try JSONSerialization.jsonObject(with: try Data(contentsOf: URL(fileURLWithPath: file))) as? [String: Any]
        let entries = try #require(document?["codes"] as? [[String: Any]])
        #expect(document?["format"] as? String == "intervene-demo-codes" && entries.count == 2)
        #expect(entries[0]["description"] as? String == "cat tokens" && entries[1]["codebook"] as? String == "cb2")
        let overview = site.respond(path: "/cache/0", query: nil).html
        #expect(overview.contains("<td>cb</td><td><a href=\"/cache/0/codebook/0/code/1\">1</a></td><td>cat tokens</td>"), "\(overview)")
        #expect(site.respond(path: "/cache/0/codebook/0/code/1", query: nil).html.contains("Saved as: cat tokens"))
        #expect(site.respond(path: "/cache/0/codebook/0/code/2", query: nil).html.contains("id=\"demo-form\""))
        #expect(site.respond(path: "/cache/0/demo-codes", query: nil).html.contains("second"))
        // Refusals: the origin, the route, the fields.
        let refused: [(BrowserPage, Int, String)] = [
            (save(site, "codebook=cb&code=1&description=x", origin: nil), 403, "a POST from origin 'none' is refused"),
            (save(site, "codebook=cb&code=1&description=x", origin: "http://evil.example"), 403, "origin 'http://evil.example' is refused"),
            (site.respond(method: "POST", path: "/", query: nil, form: "", origin: "http://127.0.0.1:8080", host: "127.0.0.1:8080"), 405, "allowed: GET, HEAD"),
            (save(site, "codebook=cb&code=1&description=x", cache: 1), 404, "cache 1 is a latent cache"),
            (save(site, "codebook=cb&code=4&description=x"), 400, "code 4 is out of range; allowed: 0...3"),
            (save(site, "codebook=nope&code=1&description=x"), 400, "codebook is 'nope'; allowed: cb, cb2"),
            (save(site, "codebook=cb&code=1&description=+++"), 400, "description is 0 characters long; allowed: 1...500"),
            (save(site, "codebook=cb&code=1&description=" + String(repeating: "x", count: 501)), 400, "description is 501 characters long"),
            (save(site, "codebook=cb&code=1&description=x&extra=1"), 400, "unknown query parameter 'extra'"),
        ]
        for (page, status, message) in refused {
            #expect(page.status == status && page.html.contains(HTML.escape(message)), "\(message): \(page.html.suffix(400))")
        }
        // A damaged file is reported on the overview and never overwritten.
        try Data("{\"format\": \"intervene-demo-codes\", \"version\": 1, \"codes\": [{\"codebook\": \"cb\", \"code\": 9, \"description\": \"x\", \"created\": \"\"}]}".utf8)
            .write(to: URL(fileURLWithPath: file))
        #expect(site.respond(path: "/cache/0", query: nil).html.contains("codes[0].code is 9; allowed: 0...3"))
        let blocked = save(site, "codebook=cb&code=1&description=x")
        #expect(blocked.status == 409 && blocked.html.contains("fix or remove the file"))
        try Data("{not json".utf8).write(to: URL(fileURLWithPath: file))
        #expect(site.respond(path: "/cache/0", query: nil).html.contains("is not a demo-code list"))
        // A folder that cannot be written is refused with a message.
        guard case .codebook(_, let manifest, let codes, let counts) = f.caches[0] else { Issue.record("not a codebook cache"); return }
        let unwritable = BrowserSite(caches: [.codebook(path: "/proc/intervene-no-such-cache", manifest: manifest, codes: codes, counts: counts)])
        let page = save(unwritable, "codebook=cb&code=1&description=x")
        #expect(page.status == 403 && page.html.contains("cache folder &#39;/proc/intervene-no-such-cache&#39; is not writable"), "\(page.html)")
    }

    @Test func nestedQuantifiersAreFound() {
        let cases: [(String, String?)] = [
            ("(a+)+$", "(a+)+"), ("(?:\\w*)*x", "(?:\\w*)*"), ("((a+)b)*", "((a+)b)*"), ("(a{2,})+", "(a{2,})+"), ("([ab]+c)*", "([ab]+c)*"),
            ("(a|aa)+$", nil), ("(ab)+", nil), ("a+b*", nil), ("[+*]+", nil), ("(a{2})+", nil), ("\\(a+\\)+", nil), (" 6(2)", nil), ("(a+)?", nil),
        ]
        for (pattern, expected) in cases { #expect(CodeSearchLimits.nestedQuantifier(in: pattern) == expected, "\(pattern)") }
    }

    /// A cache of one document: `count` tokens "a" then "b".
    func runOfAs(_ count: Int) throws -> String {
        let documents = [TokenDocument(ids: [Int](repeating: 1, count: count) + [2], pieces: [String](repeating: "a", count: count) + ["b"])]
        let codes = try CollectedCodes(documents: documents, codebooks: [CollectedCodebook(name: "cb", codeCount: 2, k: 1, ids: [[Int](repeating: 0, count: count) + [1]])])
        let path = temporaryPath("run-of-as")
        try CodebookCache.write(codes, to: path, model: .init(type: "gpt2", fingerprint: "", source: "test"))
        return path
    }

    @Test func catastrophicPatternsAreRefusedOrStopped() throws {
        let path = try runOfAs(60)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var site = BrowserSite(caches: [try ServedCache.load(path)])
        site.searchLimits.timeLimit = 0.3
        let started = Date()
        let nested = site.respond(path: "/cache/0/search", query: "regex=%28a%2B%29%2B%24")
        #expect(nested.status == 400 && nested.html.contains("the repeated group &#39;(a+)+&#39; holds another unbounded quantifier"), "\(nested.html)")
        let overlapping = site.respond(path: "/cache/0/search", query: "regex=%28a%7Caa%29%2B%24")
        #expect(overlapping.status == 422 && overlapping.html.contains("stopped after") && overlapping.html.contains("(0 of 1 documents searched)"), "\(overlapping.html)")
        // The same nested pattern with the refusal off is stopped by the clock.
        let documents = [TokenDocument(ids: [Int](repeating: 1, count: 60), pieces: [String](repeating: "a", count: 59) + ["b"])]
        let limits = CodeSearchLimits(timeLimit: 0.3, refuseNestedQuantifiers: false)
        #expect(throws: CodeAnalysisError.self) { try CodeSearch.matchingTokens("(a+)+$", in: documents, limits: limits) }
        #expect(Date().timeIntervalSince(started) < 10)
        // Ordinary patterns are unaffected; an over-long pattern is refused by length.
        #expect(site.respond(path: "/cache/0/search", query: "regex=b").status == 200)
        #expect(try CodeSearch.matchingTokens("a", in: documents, limits: limits).count == 59)
        #expect(throws: CodeAnalysisError.self) { try CodeSearch.matchingTokens(String(repeating: "a", count: 1_001), in: documents, limits: .interactive) }
    }
}
