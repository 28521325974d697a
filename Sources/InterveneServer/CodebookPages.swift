import Features
import Foundation

/// The pages of one codebook cache: its overview, code search and each code's activations.
struct CodebookPages {
    let site: BrowserSite
    let cache: Int
    let manifest: CodebookCacheManifest
    let codes: CollectedCodes
    /// Per codebook, per code: tokens on which the code fires.
    let counts: [[Int]]

    /// Codes listed per codebook on the overview (most frequent first).
    static let overviewCodes = 50

    var links: LinkStyle { site.links }
    var crumbs: [(String, String)] { [("index", links.index()), (manifest.bundle ?? cacheName, links.cache(cache))] }
    var cacheName: String { site.caches[cache].name }

    /// Model, sizes, metrics, the codebooks with their used-code counts, the search form (on a
    /// server) and each codebook's most frequent codes.
    func overview() -> String {
        var body = HTML.facts([
            ("model", HTML.escape("\(manifest.model.type) (\(manifest.model.source))")),
            ("fingerprint", HTML.escape(manifest.model.fingerprint)),
            ("bundle", HTML.escape(manifest.bundle ?? "—")),
            ("documents", "\(manifest.documents)"), ("tokens", "\(manifest.tokens)"), ("created", HTML.escape(manifest.created)),
        ])
        if !manifest.metrics.isEmpty {
            body += "<h2>Metrics</h2>" + HTML.table([("metric", false), ("value", true)],
                                                    rows: manifest.metrics.keys.sorted().map { [HTML.escape($0), HTML.number(manifest.metrics[$0]!, digits: 4)] })
        }
        let rows = manifest.codebooks.enumerated().map { b, cb -> [String] in
            let used = counts[b].filter { $0 > 0 }.count
            return [HTML.escape(cb.name), "\(cb.codes)", "\(cb.k)", cb.width.map { "\($0)" } ?? "—", "\(used)", HTML.number(Double(used) / Double(max(cb.codes, 1)))]
        }
        body += "<h2>Codebooks</h2>" + HTML.table([("codebook", false), ("codes", true), ("k", true), ("width", true), ("used codes", true), ("used fraction", true)],
                                                 rows: rows, id: "codebooks")
        if links == .server {
            body += "<h2>Code search</h2>" + searchForm(regex: "", minPrecision: 0, sort: "precision", limit: 50, codebook: "")
            body += "<h2>Documents</h2>" + documentForm()
        } else if writtenDocuments > 0 {
            body += "<h2>Documents</h2><p id=\"documents\"><a href=\"\(links.document(cache, 0))\">document 0</a> and the next \(writtenDocuments - 1), each with its topic codes</p>"
        }
        body += demoCodesSection()
        for (b, cb) in codes.codebooks.enumerated() {
            let top = listedCodes(b)
            body += "<h2>Most frequent codes of \(HTML.escape(cb.name))</h2>"
            body += HTML.table([("code", true), ("activations", true), ("frequency", true)], rows: top.map { c, n in
                ["<a href=\"\(links.code(cache, codebook: b, code: c))\">\(c)</a>", "\(n)", HTML.number(Double(n) / Double(max(codes.tokenCount, 1)), digits: 5)]
            })
        }
        return HTML.document(title: "Codebook cache \(cacheName)", breadcrumbs: crumbs, body: body)
    }

    /// The codes of codebook `b` the overview lists, most frequent first (ties by index): those
    /// that fire, at most 50 on a server, `staticPageLimit` in a static site (which writes a
    /// page for each of them).
    func listedCodes(_ b: Int) -> [(offset: Int, element: Int)] {
        let limit = links == .server ? Self.overviewCodes : site.staticPageLimit
        return Array(counts[b].enumerated().filter { $0.element > 0 }.sorted { ($0.element, -$0.offset) > ($1.element, -$1.offset) }.prefix(limit))
    }

    /// The filter shared by the search and the document page: `min_precision` (0 ... 1),
    /// `sort` (precision, recall, count), `limit` (1 ... 1000) and `codebook` (empty: all), each
    /// with the page's default; returns the options and the codebook parameter.
    func filter(_ request: BrowserRequest, minPrecision: Double, sort: CodeSearchOptions.Sort,
                limit: Int) throws(PageError) -> (options: CodeSearchOptions, codebook: String) {
        let minPrecision = try request.decimal("min_precision", in: 0...1, default: minPrecision)
        let sort = try request.choice("sort", among: CodeSearchOptions.Sort.allCases.map(\.rawValue), default: sort.rawValue)
        let limit = try request.integer("limit", in: 1...1000, default: limit)
        let codebook = request.query["codebook"] ?? ""
        if !codebook.isEmpty, !codes.codebooks.contains(where: { $0.name == codebook }) {
            throw .badRequest("codebook is '\(codebook.prefix(80))'; allowed: \((["(empty: all)"] + codes.codebooks.map(\.name)).joined(separator: ", "))")
        }
        return (CodeSearchOptions(minPrecision: minPrecision, sort: CodeSearchOptions.Sort(rawValue: sort)!, limit: limit,
                                  codebooks: codebook.isEmpty ? nil : [codebook]), codebook)
    }

    /// The sort and codebook choices of a filter form, `sort` and `codebook` selected.
    func filterChoices(sort: String, codebook: String) -> (sorts: String, books: String) {
        let sorts = CodeSearchOptions.Sort.allCases.map { s in "<option\(s.rawValue == sort ? " selected" : "")>\(s.rawValue)</option>" }.joined()
        let books = ([""] + codes.codebooks.map(\.name)).map { n in
            "<option value=\"\(HTML.escape(n))\"\(n == codebook ? " selected" : "")>\(n.isEmpty ? "all" : HTML.escape(n))</option>"
        }.joined()
        return (sorts, books)
    }

    func searchForm(regex: String, minPrecision: Double, sort: String, limit: Int, codebook: String, baseline: Bool = false) -> String {
        let (sorts, books) = filterChoices(sort: sort, codebook: codebook)
        return """
        <form method="get" action="/cache/\(cache)/search" id="search">
        <label>regex <input type="text" name="regex" value="\(HTML.escape(regex))" required maxlength="\(BrowserRequest.maxValue)"></label>
        <label>min precision <input type="number" name="min_precision" min="0" max="1" step="0.01" value="\(HTML.number(minPrecision))"></label>
        <label>sort <select name="sort">\(sorts)</select></label>
        <label>limit <input type="number" name="limit" min="1" max="1000" value="\(limit)"></label>
        <label>codebook <select name="codebook">\(books)</select></label>
        \(codes.neurons.isEmpty ? "" : "<label><input type=\"checkbox\" name=\"baseline\" value=\"1\"\(baseline ? " checked" : "")> neuron baseline</label>")
        <button>Search</button></form>
        """
    }

    /// Code search (`CodeSearch.search`): `regex` (required), `min_precision` (0 ... 1),
    /// `sort` (precision, recall, count), `limit` (1 ... 1000), `codebook` (empty: all) and
    /// `baseline` (1: next to each code, the neuron with the best precision at the code's recall,
    /// `CodeSearch.bestNeuron`, when the cache stores neuron tables).
    func search(_ request: BrowserRequest) throws(PageError) -> String {
        try request.allowOnly(["regex", "min_precision", "sort", "limit", "codebook", "baseline"])
        guard let regex = request.query["regex"], !regex.isEmpty else {
            throw .badRequest("regex is missing or empty; allowed: an ICU regular expression of 1...\(site.searchLimits.maxPatternLength) characters")
        }
        let (options, codebook) = try filter(request, minPrecision: 0, sort: .precision, limit: 50)
        let (minPrecision, sort, limit) = (options.minPrecision, options.sort.rawValue, options.limit ?? 50)
        let baseline = try request.choice("baseline", among: ["0", "1"], default: "0") == "1" && !codes.neurons.isEmpty
        let result: CodeSearchResult, matched: Set<TokenPosition>
        do {
            matched = try CodeSearch.matchingTokens(regex, in: codes.documents, limits: site.searchLimits)
            result = try CodeSearch.search(codes, matched: matched, pattern: regex, options: options)
        } catch let error as CodeAnalysisError {
            if case .invalidRegex(_, let reason) = error {
                throw .badRequest("regex '\(regex.prefix(200))' is not a valid regular expression (\(reason)); allowed: an ICU regular expression")
            }
            if case .searchStopped = error { throw PageError(status: 422, message: "\(error)") }
            throw .badRequest("\(error)")
        } catch {
            throw .badRequest("\(error)")
        }
        var body = searchForm(regex: regex, minPrecision: minPrecision, sort: sort, limit: limit, codebook: codebook, baseline: baseline)
        body += "<p id=\"summary\">The pattern matches <b>\(result.matchedTokens)</b> of \(codes.tokenCount) tokens; \(result.matches.count) codes shown.</p>"
        var rows = result.matches.map { m -> [String] in
            let b = codes.codebooks.firstIndex { $0.name == m.codebook }!
            return [HTML.escape(m.codebook), "<a href=\"\(links.code(cache, codebook: b, code: m.code))\">\(m.code)</a>",
                    HTML.number(m.precision), HTML.number(m.recall), "\(m.activations)", "\(m.matchedActivations)"]
        }
        var header: [(label: String, numeric: Bool)] = [("codebook", false), ("code", true), ("precision", true), ("recall", true),
                                                        ("activations", true), ("matched", true)]
        if baseline {
            header += [("best neuron", false), ("neuron precision", true)]
            for (r, m) in result.matches.enumerated() {
                let best = try? CodeSearch.bestNeuron(codes, matched: matched, recall: m.recall)
                rows[r] += best.map { [HTML.escape("\($0.table)[\($0.neuron)] ≥ \(HTML.number(Double($0.threshold)))"), HTML.number($0.precision)] } ?? ["—", "—"]
            }
        } else if request.query["baseline"] == "1" {
            body += "<p class=\"meta\">No neuron baseline: this cache stores no neuron activations.</p>"
        }
        body += HTML.table(header, rows: rows, id: "matches")
        return HTML.document(title: "Codes for /\(regex.prefix(60))/", breadcrumbs: crumbs, body: body)
    }

    /// One code's activations in context: `context` tokens each side (0 ... 64, default 8),
    /// at most `limit` activations (1 ... 500, default 50), best slot first, optionally only
    /// those where the code held slot ≤ `max_slot`. The activating token is highlighted; other
    /// tokens of the window where the same code fires are shaded.
    func code(codebook b: Int, code c: Int, _ request: BrowserRequest) throws(PageError) -> String {
        let cb = codes.codebooks[b]
        try request.allowOnly(["context", "limit", "max_slot"])
        let context = try request.integer("context", in: 0...64, default: 8)
        let limit = try request.integer("limit", in: 1...500, default: 50)
        let maxSlot = try request.integer("max_slot", in: 0...(cb.k - 1), default: cb.k - 1)
        let all: [CodeActivation]
        do { all = try codes.activations(codebook: cb.name, code: c) } catch { throw .badRequest("\(error)") }
        var firing: [Int: Set<Int>] = [:]
        for a in all { firing[a.token.document, default: []].insert(a.token.position) }
        let kept = all.enumerated().filter { $0.element.slot <= maxSlot }
            .sorted { ($0.element.slot, $0.offset) < ($1.element.slot, $1.offset) }.prefix(limit).map(\.element)
        var body = HTML.facts([
            ("codebook", HTML.escape(cb.name)), ("code", "\(c) of \(cb.codeCount)"),
            ("activations", "\(counts[b][c]) tokens (\(HTML.number(Double(counts[b][c]) / Double(max(codes.tokenCount, 1)), digits: 5)) of all)"),
            ("shown", "\(kept.count)"),
        ])
        var nav: [String] = []  // a static site writes only the listed codes: no neighbours
        if links == .server && c > 0 { nav.append("<a href=\"\(links.code(cache, codebook: b, code: c - 1))\">← code \(c - 1)</a>") }
        if links == .server && c + 1 < cb.codeCount { nav.append("<a href=\"\(links.code(cache, codebook: b, code: c + 1))\">code \(c + 1) →</a>") }
        body += "<p>" + nav.joined(separator: " · ") + "</p>"
        if links == .server, let live = site.live, live.codebookChoices.contains(where: { $0.name == cb.name }) {
            let name = HTML.queryValue(cb.name)
            body += "<p><a id=\"force-live\" href=\"/live?action=code-force&amp;codebook=\(name)&amp;code=\(c)\">force this code live</a> · "
                + "<a id=\"disable-live\" href=\"/live?action=code-disable&amp;codebook=\(name)&amp;code=\(c)\">disable it live</a></p>"
        }
        if links == .server {
            body += """
            <form method="get"><label>context <input type="number" name="context" min="0" max="64" value="\(context)"></label>
            <label>limit <input type="number" name="limit" min="1" max="500" value="\(limit)"></label>
            <label>max slot <input type="number" name="max_slot" min="0" max="\(cb.k - 1)" value="\(maxSlot)"></label><button>Show</button></form>
            """
        }
        body += "<h2>Activations in context</h2><div id=\"contexts\">"
        for a in kept {
            let pieces = codes.documents[a.token.document].pieces, t = a.token.position, fired = firing[a.token.document] ?? []
            let doc = a.token.document < writtenDocuments ? "<a href=\"\(links.document(cache, a.token.document))\">doc \(a.token.document)</a>" : "doc \(a.token.document)"
            var line = "<div class=\"ctx\"><span class=\"meta\">\(doc) · token \(t) · slot \(a.slot)</span>"
            for p in max(0, t - context)..<min(pieces.count, t + context + 1) {
                let cls = p == t ? "tok hit" : (fired.contains(p) ? "tok also" : "tok")
                line += "<span class=\"\(cls)\" title=\"token \(p)\">\(HTML.piece(pieces[p]))</span>"
            }
            body += line + "</div>"
        }
        body += "</div>"
        if kept.isEmpty { body += "<p>The code never fires\(maxSlot < cb.k - 1 ? " in slots 0...\(maxSlot)" : "").</p>" }
        if links == .server { body += demoCodeForm(codebook: b, code: c) }
        return HTML.document(title: "\(cb.name) code \(c)", breadcrumbs: crumbs, body: body)
    }
}
