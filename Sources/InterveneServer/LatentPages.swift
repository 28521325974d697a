import Features

/// The pages of one latent cache: the latent table and each latent's page.
struct LatentPages {
    let site: BrowserSite
    let cache: Int
    let contents: LatentCache.Contents

    /// Rows of the latent table per page.
    static let pageSize = 100

    var links: LinkStyle { site.links }
    var manifest: LatentCacheManifest { contents.manifest }
    var crumbs: [(String, String)] { [("index", links.index()), (site.caches[cache].name, links.cache(cache))] }

    /// Latent indices in the table's order: "firing" (most frequent first), "max" (largest
    /// activation first) or "index"; ties by index.
    func ordered(by sort: String) -> [Int] {
        let s = contents.statistics
        switch sort {
        case "max": return (0..<s.latents).sorted { (s.maximum[$0], -$0) > (s.maximum[$1], -$1) }
        case "index": return Array(0..<s.latents)
        default: return (0..<s.latents).sorted { (s.firing[$0], -$0) > (s.firing[$1], -$1) }
        }
    }

    /// Model, site, SAE, corpus and metrics, then the latent table: `sort` (firing, max,
    /// index) and `page` (0-based, 100 rows each). A static site lists the first page only.
    func overview(_ request: BrowserRequest) throws(PageError) -> String {
        try request.allowOnly(["sort", "page"])
        let sort = try request.choice("sort", among: ["firing", "max", "index"], default: "firing")
        let s = contents.statistics
        let pages = max(1, (s.latents + Self.pageSize - 1) / Self.pageSize)
        let page = try request.integer("page", in: 0...(pages - 1), default: 0)
        var body = HTML.facts([
            ("model", HTML.escape("\(manifest.model.type) (\(manifest.model.source))")), ("site", HTML.escape(manifest.site)),
            ("SAE", HTML.escape("\(manifest.sae.architecture)\(manifest.sae.k.map { " k = \($0)" } ?? ""), d_in = \(manifest.sae.dIn), \(manifest.sae.dSae) latents, from \(manifest.sae.source)")),
            ("corpus", HTML.escape("\(manifest.corpus.source): \(manifest.corpus.windows) windows, \(manifest.corpus.tokens) tokens")),
            ("metrics", HTML.escape(manifest.metrics.keys.sorted().map { "\($0) = \(HTML.number(manifest.metrics[$0]!, digits: 4))" }.joined(separator: ", "))),
        ])
        if links == .server {
            body += """
            <form method="get" action="/cache/\(cache)/latent" id="goto">
            <label>latent <input type="number" name="latent" min="0" max="\(s.latents - 1)"></label><button>Open</button></form>
            <p>Sort by: \(["firing", "max", "index"].map { "<a href=\"?sort=\($0)\">\($0)</a>" }.joined(separator: " · "))</p>
            """
        }
        let order = ordered(by: sort)
        let shown = links == .server ? order[(page * Self.pageSize)..<min(order.count, (page + 1) * Self.pageSize)]
                                     : order.prefix(site.staticPageLimit)
        body += "<h2>Latents\(links == .server && pages > 1 ? " (page \(page + 1) of \(pages))" : "")</h2>"
        body += HTML.table([("latent", true), ("firing", true), ("frequency", true), ("max", true), ("mean", true)], rows: shown.map { l in
            ["<a href=\"\(links.latent(cache, l))\">\(l)</a>", "\(s.firing[l])", HTML.number(s.frequency(of: l), digits: 5),
             HTML.number(Double(s.maximum[l])), HTML.number(Double(s.meanActivation[l]))]
        }, id: "latents")
        if links == .server && pages > 1 {
            var nav: [String] = []
            if page > 0 { nav.append("<a href=\"?sort=\(sort)&page=\(page - 1)\">← previous</a>") }
            if page + 1 < pages { nav.append("<a href=\"?sort=\(sort)&page=\(page + 1)\">next →</a>") }
            body += "<p>" + nav.joined(separator: " · ") + "</p>"
        }
        return HTML.document(title: "Latent cache \(site.caches[cache].name)", breadcrumbs: crumbs, body: body)
    }

    /// The decoded piece of a token id (−1: outside the window).
    func piece(_ id: Int) -> String { id >= 0 && id < contents.pieces.count ? contents.pieces[id] : "" }

    /// One latent: statistics, the activation histogram (SVG), the top activating contexts
    /// (the activating token shaded by its activation over the latent's maximum) and the
    /// tokens its decoder direction promotes and suppresses; `live` (the prompt box of a
    /// server with a model) goes after the statistics.
    func latent(_ l: Int, live: String = "") -> String {
        let s = contents.statistics
        var body = HTML.facts([
            ("firing", "\(s.firing[l]) of \(s.tokens) tokens (frequency \(HTML.number(s.frequency(of: l), digits: 5)))"),
            ("max activation", HTML.number(Double(s.maximum[l]), digits: 4)), ("mean activation", HTML.number(Double(s.meanActivation[l]), digits: 4)),
        ])
        var nav: [String] = []  // a static site writes only the listed latents: no neighbours
        if links == .server && l > 0 { nav.append("<a href=\"\(links.latent(cache, l - 1))\">← latent \(l - 1)</a>") }
        if links == .server && l + 1 < s.latents { nav.append("<a href=\"\(links.latent(cache, l + 1))\">latent \(l + 1) →</a>") }
        body += "<p>" + nav.joined(separator: " · ") + "</p>" + live
        body += "<h2>Activation histogram</h2>" + HistogramSVG.render(s.histogram(of: l))
        body += "<h2>Top activating contexts</h2><div id=\"contexts\">"
        let top = max(s.maximum[l], .leastNormalMagnitude)
        for context in s.contexts(of: l) {
            let alpha = HTML.number(Double(0.25 + 0.75 * min(max(context.activation / top, 0), 1)), digits: 2)
            var line = "<div class=\"ctx\"><span class=\"meta\">z = \(HTML.number(Double(context.activation), digits: 4)) · window \(context.window) · token \(context.position)</span>"
            for (j, id) in context.tokens.enumerated() where id >= 0 {
                if j == s.contextRadius {
                    line += "<span class=\"tok hit\" style=\"background:rgba(246,160,77,\(alpha))\" title=\"id \(id)\">\(HTML.piece(piece(id)))</span>"
                } else {
                    line += "<span class=\"tok\" title=\"id \(id)\">\(HTML.piece(piece(id)))</span>"
                }
            }
            body += line + "</div>"
        }
        body += "</div>"
        if s.contextCounts[l] == 0 { body += "<p>This latent never fires on the corpus.</p>" }
        if let lens = contents.logitLens {
            body += "<h2>Tokens its direction promotes</h2><p class=\"meta\">logit lens through \(HTML.escape(lens.normalization))</p>"
            body += HTML.table([("promoted", false), ("logit", true)], rows: lens.promoted(l).map { ["<code>\(HTML.piece(piece($0.id)))</code>", HTML.number(Double($0.logit))] }, id: "promoted")
            body += "<h2>Tokens it suppresses</h2>"
            body += HTML.table([("suppressed", false), ("logit", true)], rows: lens.suppressed(l).map { ["<code>\(HTML.piece(piece($0.id)))</code>", HTML.number(Double($0.logit))] }, id: "suppressed")
        } else {
            body += "<p>No logit lens in this cache (written with --tokens 0, or an SAE narrower than the residual stream).</p>"
        }
        return HTML.document(title: "Latent \(l) at \(manifest.site)", breadcrumbs: crumbs, body: body)
    }
}
