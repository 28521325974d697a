import Features
import Foundation

/// The document view of a codebook cache with its topic codes (`CodeSearch.topicCodes`): the
/// codes that fire on at least a chosen fraction of the document's tokens.
extension CodebookPages {
    /// Default fraction of a document's tokens a topic code covers (the reference's default
    /// recall threshold, 0.2).
    static let defaultTopicFraction = 0.2
    /// Documents scanned for "the next document with topic codes".
    static let topicScan = 500

    /// `/cache/I/document?document=D` (the "open document" form) and
    /// `/cache/I/document/D?fraction=&min_precision=&sort=&limit=&codebook=`.
    func document(_ segments: [String], _ request: BrowserRequest) throws(PageError) -> String {
        let count = codes.documents.count
        if segments.count == 3 {
            try request.allowOnly(["document"])
            let d = try BrowserRequest.index(request.query["document"] ?? "", field: "document", in: 0..<count)
            return try topicPage(document: d, BrowserRequest(path: "/", query: nil))
        }
        guard segments.count == 4 else { throw .notFound("no page at /\(segments.joined(separator: "/").prefix(200)); allowed: /cache/\(cache)/document/D") }
        return try topicPage(document: try BrowserRequest.index(segments[3], field: "document", in: 0..<count), request)
    }

    /// The "open document" form of the overview.
    func documentForm() -> String {
        """
        <form method="get" action="/cache/\(cache)/document" id="open-document"><label>document <input type="number" name="document" min="0" max="\(codes.documents.count - 1)" value="0"></label>
        <button>Open</button> <span class="meta">its text and its topic codes (codes covering a fraction of its tokens)</span></form>
        """
    }

    /// Document `d`'s tokens and its topic codes: `fraction` (0 ... 1, default 0.2) of its
    /// tokens at least, `min_precision` (0 ... 1, default 0.01, the reference's), `sort`
    /// (precision, recall, count; default recall), `limit` (1 ... 1000, default 100), `codebook`
    /// (empty: all). Tokens on which a listed code fires are shaded by how many listed codes
    /// fire there.
    func topicPage(document d: Int, _ request: BrowserRequest) throws(PageError) -> String {
        try request.allowOnly(["fraction", "min_precision", "sort", "limit", "codebook"])
        let fraction = try request.decimal("fraction", in: 0...1, default: Self.defaultTopicFraction)
        var (options, codebook) = try filter(request, minPrecision: 0.01, sort: .recall, limit: 100)
        options.minRecall = fraction
        let (minPrecision, sort, limit) = (options.minPrecision, options.sort.rawValue, options.limit ?? 100)
        let topics: [CodeMatch]
        do { topics = try CodeSearch.topicCodes(codes, document: d, options: options, activationCounts: counts) } catch { throw .badRequest("\(error)") }
        let doc = codes.documents[d]
        var query = "fraction=\(HTML.number(fraction, digits: 4))&min_precision=\(HTML.number(minPrecision, digits: 4))&sort=\(sort)&limit=\(limit)"
        if !codebook.isEmpty { query += "&codebook=" + HTML.queryValue(codebook) }
        var nav: [String] = []
        if d > 0 { nav.append("<a href=\"\(links.document(cache, d - 1, query: query))\">← document \(d - 1)</a>") }
        if d + 1 < writtenDocuments { nav.append("<a href=\"\(links.document(cache, d + 1, query: query))\">document \(d + 1) →</a>") }
        if let next = nextWithTopics(after: d, options: options), next < writtenDocuments {
            nav.append("<a id=\"next-with-topics\" href=\"\(links.document(cache, next, query: query))\">next document with topic codes (\(next))</a>")
        }
        var body = HTML.facts([("document", "\(d) of \(codes.documents.count)"), ("tokens", "\(doc.ids.count)"),
                               ("topic codes", "\(topics.count) covering ≥ \(HTML.number(fraction * 100, digits: 2))% of the tokens")])
        body += "<p>" + nav.joined(separator: " · ") + "</p>"
        if links == .server { body += topicForm(document: d, fraction: fraction, minPrecision: minPrecision, sort: sort, limit: limit, codebook: codebook) }
        // Shade each token by how many listed codes fire on it.
        var covered = [Int](repeating: 0, count: doc.ids.count)
        for m in topics {
            guard let cb = try? codes.codebook(named: m.codebook) else { continue }
            for t in 0..<doc.ids.count where cb.ids[d][(t * cb.k)..<((t + 1) * cb.k)].contains(m.code) { covered[t] += 1 }
        }
        let most = max(covered.max() ?? 0, 1)
        body += "<h2>Text</h2><div class=\"ctx\" id=\"document-text\">"
        for (t, piece) in doc.pieces.enumerated() {
            let alpha = HTML.number(Double(covered[t]) / Double(most) * 0.8, digits: 2)
            body += "<span class=\"tok\" style=\"background:rgba(246,160,77,\(alpha))\" title=\"token \(t): \(covered[t]) topic code(s)\">\(HTML.piece(piece))</span>"
        }
        body += "</div><h2>Topic codes</h2>"
        body += HTML.table([("codebook", false), ("code", true), ("precision", true), ("fraction of tokens", true),
                            ("activations here", true), ("activations", true)], rows: topics.map { m in
            let b = codes.codebooks.firstIndex { $0.name == m.codebook }!
            return [HTML.escape(m.codebook), "<a href=\"\(links.code(cache, codebook: b, code: m.code))\">\(m.code)</a>", HTML.number(m.precision),
                    HTML.number(m.recall), "\(m.matchedActivations)", "\(m.activations)"]
        }, id: "topic-codes")
        if topics.isEmpty { body += "<p id=\"no-topics\">No code fires on \(HTML.number(fraction * 100, digits: 2))% of this document's tokens; lower the fraction to see more.</p>" }
        return HTML.document(title: "Document \(d) of \(cacheName)", breadcrumbs: crumbs, body: body)
    }

    /// Document `d`'s topic codes under the page's default filter (what a static site shows).
    func defaultTopicCodes(document d: Int) -> [CodeMatch] {
        let options = CodeSearchOptions(minPrecision: 0.01, minRecall: Self.defaultTopicFraction, sort: .recall, limit: 100)
        return (try? CodeSearch.topicCodes(codes, document: d, options: options, activationCounts: counts)) ?? []
    }

    /// Documents with a page: all on a server, the first `staticPageLimit` in a static site.
    var writtenDocuments: Int { links == .server ? codes.documents.count : min(codes.documents.count, site.staticPageLimit) }

    func topicForm(document d: Int, fraction: Double, minPrecision: Double, sort: String, limit: Int, codebook: String) -> String {
        let (sorts, books) = filterChoices(sort: sort, codebook: codebook)
        return """
        <form method="get" action="/cache/\(cache)/document/\(d)" id="topic-form">
        <label>fraction of tokens <input type="number" name="fraction" min="0" max="1" step="0.01" value="\(HTML.number(fraction, digits: 4))"></label>
        <label>min precision <input type="number" name="min_precision" min="0" max="1" step="0.001" value="\(HTML.number(minPrecision, digits: 4))"></label>
        <label>sort <select name="sort">\(sorts)</select></label>
        <label>limit <input type="number" name="limit" min="1" max="1000" value="\(limit)"></label>
        <label>codebook <select name="codebook">\(books)</select></label><button>Show</button></form>
        """
    }

    /// The first document after `d` (wrapping, at most `topicScan` looked at) with a topic code.
    func nextWithTopics(after d: Int, options: CodeSearchOptions) -> Int? {
        let n = codes.documents.count
        guard n > 1 else { return nil }
        for step in 1..<min(n, Self.topicScan + 1) {
            let e = (d + step) % n
            if let found = try? CodeSearch.topicCodes(codes, document: e, options: options, activationCounts: counts), !found.isEmpty { return e }
        }
        return nil
    }
}
