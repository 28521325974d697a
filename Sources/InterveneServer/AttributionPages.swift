import CausalAbstraction

/// The page of an attribution folder (attribution.json of `intervene attribute --out`): the
/// prompt, metric and method, the node table (kind, layer, index, position, token, attribution
/// and |attribution|, largest first; click a header to sort), the direct logit attribution and,
/// with a source, the layers × positions grid of real patching with the gradient estimate on hover.
struct AttributionPages {
    let site: BrowserSite
    let cache: Int
    let file: AttributionFile

    var links: LinkStyle { site.links }

    func page() -> String {
        var facts: [(String, String)] = [
            ("prompt", HTML.escape(file.prompt)), ("metric", HTML.escape(file.metric)), ("metric on the prompt", HTML.number(file.metricValue, digits: 4)),
            ("method", HTML.escape(file.method)),
            ("attribution", file.baseline == "source" ? "(source − base) × gradient" : "activation × gradient"),
            ("target", "<code>\(HTML.piece(file.target))</code>"),
        ]
        if let d = file.distractor { facts.append(("distractor", "<code>\(HTML.piece(d))</code>")) }
        if let s = file.source { facts.append(("source", HTML.escape(s))) }
        facts.append(("seconds", HTML.number(file.seconds, digits: 2)))
        var body = HTML.facts(facts)
        body += "<h2>Top \(file.nodes.count) nodes by |attribution|</h2>"
        let ordered = file.nodes.enumerated().sorted { (abs($0.element.attribution), -$0.offset) > (abs($1.element.attribution), -$1.offset) }
        body += HTML.table([("rank", true), ("kind", false), ("layer", true), ("index", true), ("position", true), ("token", false),
                            ("attribution", true), ("|attribution|", true)], rows: ordered.enumerated().map { rank, item in
            let n = item.element
            return ["\(rank + 1)", HTML.escape(n.kind + (n.key.map { " \($0)" } ?? "")), "\(n.layer)", "\(n.index)", "\(n.position)",
                    "<code>\(HTML.piece(n.token))</code>", HTML.number(n.attribution, digits: 5), HTML.number(abs(n.attribution), digits: 5)]
        }, id: "nodes")
        if let d = file.directLogitAttribution {
            body += "<h2>Direct logit attribution</h2><p class=\"meta\">at the last position, final norm with its scale frozen: sum of parts "
            body += "\(HTML.number(d.sum, digits: 4)) + bias term \(HTML.number(d.biasTerm, digits: 4)); readout \(HTML.number(d.readout, digits: 4))</p>"
            let parts = (d.parts + d.latents).sorted { abs($0.value) > abs($1.value) }
            body += HTML.table([("kind", false), ("layer", true), ("index", true), ("value", true)], rows: parts.map { p in
                [HTML.escape(p.kind + (p.key.map { " \($0)" } ?? "")), "\(p.layer)", p.index >= 0 ? "\(p.index)" : "", HTML.number(p.value, digits: 4)]
            }, id: "dla")
        }
        if let g = file.patching {
            body += "<h2>Activation patching at \(HTML.escape(g.component))</h2>"
            body += "<p class=\"meta\">Colour: real patching (source activation patched into the prompt's run); hover a cell for the \(HTML.escape(g.method)) estimate. "
            body += "Correlation (Pearson) \(HTML.number(g.correlation, digits: 4)); metric on the prompt \(HTML.number(g.baseMetric, digits: 4)), on the source \(HTML.number(g.sourceMetric, digits: 4)).</p>"
            body += "<div id=\"heatmap\">" + SVGPlot.traceHeatmap(values: g.attribution, effects: g.patching, tokens: file.tokens, marked: [],
                                                                title: "patching at \(g.component) vs \(g.method)", valueName: g.method) + "</div>"
        }
        let crumbs = [("index", links.index()), (site.caches[cache].name, links.cache(cache))]
        return HTML.document(title: "Attribution \(site.caches[cache].name)", breadcrumbs: crumbs, body: body)
    }
}
