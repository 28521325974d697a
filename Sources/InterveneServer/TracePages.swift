import CausalAbstraction
import Models

/// The pages of a trace folder (trace.json of `intervene trace` or `patch`): a summary with
/// one link per grid, and per grid the token × layer heatmap of indirect effects, re-rendered
/// from trace.json (each cell's layer, token, restored value and effect on hover), with the
/// strongest layer of every position as a table.
struct TracePages {
    let site: BrowserSite
    let cache: Int
    let trace: CausalTrace

    var links: LinkStyle { site.links }
    var crumbs: [(String, String)] { [("index", links.index()), (site.caches[cache].name, links.cache(cache))] }
    var isPatching: Bool { trace.kind == "activation_patching" }

    /// "mlp_output (window 10)".
    func label(_ g: Int) -> String { TraceGridSpec(component: .init(trace.grids[g].component), window: trace.grids[g].window).label }

    /// The largest effect of grid `g`: (layer, position, effect).
    func strongest(_ g: Int) -> (layer: Int, position: Int, effect: Double)? {
        var best: (layer: Int, position: Int, effect: Double)?
        for (l, row) in trace.grids[g].effects.enumerated() {
            for (p, e) in row.enumerated() where best == nil || e > best!.effect { best = (l, p, e) }
        }
        return best
    }

    /// Kind, metric, clean and corrupted values, noise; the grids; the tokens.
    func overview() -> String {
        let corrupted = trace.corruptedPositions.map { "\($0) \(String(reflecting: token($0)))" }.joined(separator: ", ")
        var facts: [(String, String)] = [
            ("kind", isPatching ? "activation patching (a contrastive prompt)" : "causal tracing (noise on the subject)"),
            ("metric", HTML.escape(trace.metric)), ("clean", HTML.number(trace.clean, digits: 4)),
            ("corrupted", HTML.number(trace.corrupted, digits: 4)),
            (isPatching ? "positions that differ" : "noised positions", HTML.escape(corrupted)),
        ]
        if let noise = trace.noiseStd {
            facts.append(("noise", "ν = \(HTML.number(noise, digits: 4)), \(trace.samples) samples, seed \(trace.seed.map { "\($0)" } ?? "none")"))
        }
        facts.append(("seconds", HTML.number(trace.seconds, digits: 2)))
        var body = HTML.facts(facts) + "<h2>Grids</h2>"
        body += HTML.table([("grid", false), ("layers", true), ("strongest effect", true), ("at", false)], rows: trace.grids.indices.map { g in
            let best = strongest(g)
            return ["<a href=\"\(links.grid(cache, g))\">\(HTML.escape(label(g)))</a>", "\(trace.grids[g].effects.count)",
                    best.map { HTML.number($0.effect, digits: 4) } ?? "", best.map { HTML.escape("layer \($0.layer), position \($0.position) \(String(reflecting: token($0.position)))") } ?? ""]
        }, id: "grids")
        body += "<h2>Tokens</h2>" + HTML.table([("position", true), ("token", false)], rows: trace.tokens.indices.map {
            ["\($0)", "<code>\(HTML.piece(trace.tokens[$0]))</code>" + (trace.corruptedPositions.contains($0) ? " *" : "")]
        }, id: "tokens")
        return HTML.document(title: "\(isPatching ? "Activation patching" : "Causal trace") \(site.caches[cache].name)", breadcrumbs: crumbs, body: body)
    }

    func token(_ p: Int) -> String { p >= 0 && p < trace.tokens.count ? trace.tokens[p] : "" }

    /// Grid `g`: the heatmap and, per position, the layer of the largest effect.
    func grid(_ g: Int) -> String {
        let grid = trace.grids[g]
        let title = "\(isPatching ? "activation patching" : "causal trace") of \(trace.metric): \(label(g))"
        var body = "<p class=\"meta\">Rows: tokens (* \(isPatching ? "differs from the corrupted prompt" : "noised")); columns: layers. "
        body += "Colour: the indirect effect (restored − corrupted \(HTML.escape(trace.metric)) = \(HTML.number(trace.corrupted, digits: 4))); hover a cell for its values.</p>"
        body += "<div id=\"heatmap\">" + SVGPlot.traceHeatmap(values: grid.values, effects: grid.effects, tokens: trace.tokens,
                                                            marked: Set(trace.corruptedPositions), title: title, valueName: trace.metric) + "</div>"
        body += "<h2>Largest effect per position</h2>"
        body += HTML.table([("position", true), ("token", false), ("layer", true), ("effect", true), ("restored", true)], rows: trace.tokens.indices.compactMap { p in
            let column = grid.effects.indices.filter { p < grid.effects[$0].count }
            guard let best = column.max(by: { grid.effects[$0][p] < grid.effects[$1][p] }) else { return nil }
            return ["\(p)", "<code>\(HTML.piece(trace.tokens[p]))</code>", "\(best)", HTML.number(grid.effects[best][p], digits: 4),
                    HTML.number(grid.values[best][p], digits: 4)]
        }, id: "per-position")
        var nav: [String] = []
        if g > 0 { nav.append("<a href=\"\(links.grid(cache, g - 1))\">← \(HTML.escape(label(g - 1)))</a>") }
        if g + 1 < trace.grids.count { nav.append("<a href=\"\(links.grid(cache, g + 1))\">\(HTML.escape(label(g + 1))) →</a>") }
        body += "<p>" + nav.joined(separator: " · ") + "</p>"
        return HTML.document(title: "Grid \(g): \(label(g))", breadcrumbs: crumbs + [("grid \(g)", links.grid(cache, g))], body: body)
    }
}
