import CausalAbstraction
import Foundation
import Models

/// How `intervene attribute` prints and writes its results.
enum AttributeReport {
    /// The top nodes as a table.
    static func nodesText(_ n: NodeAttribution, question: AttributionPrompt, top: Int) -> String {
        let what = question.source == nil ? "activation × gradient" : "(source − base) × gradient"
        var lines = [String(format: "metric %@ on the prompt: %.4f", question.label, n.metric),
                     "top \(top) nodes by |\(what)| (\(n.method); \(String(format: "%.2f", n.seconds)) s):"]
        let rows = n.top(top).enumerated().map { i, node -> [String] in
            ["\(i + 1)", node.kind.rawValue, "\(node.layer)", "\(node.index)", "\(node.position)",
             String(reflecting: question.baseTokens[node.position]), String(format: "%.4f", node.attribution)]
        }
        lines.append(table(["#", "kind", "layer", "index", "position", "token", "attribution"], rows))
        return lines.joined(separator: "\n")
    }

    static func nodesJSON(_ n: NodeAttribution, question: AttributionPrompt, top: Int) -> [String: Any] {
        let nodes = n.top(top).map { node -> [String: Any] in
            var o: [String: Any] = ["kind": node.kind.rawValue, "layer": node.layer, "index": node.index, "position": node.position,
                                    "token": question.baseTokens[node.position], "attribution": node.attribution]
            if let key = node.key { o["key"] = key }
            return o
        }
        return ["method": n.method.description, "metric_value": n.metric, "top": nodes, "seconds": n.seconds,
                "baseline": question.source == nil ? "zero" : "source"]
    }

    /// Per layer: attention (heads + bias), its strongest head, the MLP; then the check of the sum.
    static func dlaText(_ d: DirectLogitAttribution, metric: Double) -> String {
        var lines = ["direct logit attribution at the last position (final norm with its scale frozen):"]
        let layers = Set(d.parts.map(\.layer)).sorted()
        var rows: [[String]] = [["embed", String(format: "%.3f", d.parts.first { $0.kind == "embed" }?.value ?? 0), "", ""]]
        for l in layers {
            let attention = d.parts.filter { $0.layer == l && ($0.kind == "head" || $0.kind == "attn_bias") }.map(\.value).reduce(0, +)
            let best = d.parts.filter { $0.layer == l && $0.kind == "head" }.max { Swift.abs($0.value) < Swift.abs($1.value) }
            let mlp = d.parts.first { $0.layer == l && $0.kind == "mlp" }?.value ?? 0
            rows.append(["\(l)", String(format: "%.3f", attention), best.map { String(format: "H%d %.3f", $0.index, $0.value) } ?? "",
                         String(format: "%.3f", mlp)])
        }
        lines.append(table(["layer", "attention", "top head", "mlp"], rows))
        lines.append(String(format: "sum of parts %.4f + final-norm bias term %.4f = %.4f; the metric's readout of the final norm %.4f (metric %.4f)",
                            d.total, d.biasTerm, d.total + d.biasTerm, d.readout, metric))
        let heads = d.parts.filter { $0.kind == "head" }.sorted { Swift.abs($0.value) > Swift.abs($1.value) }.prefix(8)
        lines.append("top heads: " + heads.map { String(format: "L%dH%d %.3f", $0.layer, $0.index, $0.value) }.joined(separator: ", "))
        if !d.latents.isEmpty {
            let latents = d.latents.sorted { Swift.abs($0.value) > Swift.abs($1.value) }.prefix(8)
            lines.append("top latents: " + latents.map { String(format: "L%d#%d %.3f", $0.layer, $0.index, $0.value) }.joined(separator: ", "))
        }
        return lines.joined(separator: "\n")
    }

    static func dlaJSON(_ d: DirectLogitAttribution) -> [String: Any] {
        func json(_ p: DirectLogitAttribution.Part) -> [String: Any] {
            var o: [String: Any] = ["kind": p.kind, "layer": p.layer, "value": p.value]
            if p.index >= 0 { o["index"] = p.index }
            if let key = p.key { o["key"] = key }
            return o
        }
        return ["parts": d.parts.map(json), "latents": d.latents.map(json), "sum": d.total, "bias_term": d.biasTerm, "readout": d.readout]
    }

    /// The grids side by side per layer, then the correlation and timings.
    static func gridText(_ g: AttributionPatching, tokens: [String], component: String) -> String {
        var lines = [String(format: "metric on the prompt %.4f, on the source %.4f", g.baseMetric, g.sourceMetric),
                     "", "\(component): real activation patching | \(g.method) estimate (rows: layers, columns: positions)"]
        let header = ["layer"] + tokens.enumerated().map { "p\($0.offset) \(String(reflecting: $0.element))" } + ["|"]
            + tokens.indices.map { "p\($0)" }
        let rows = g.attribution.indices.map { l -> [String] in
            ["\(l)"] + g.patching[l].map { String(format: "%.3f", $0) } + ["|"] + g.attribution[l].map { String(format: "%.3f", $0) }
        }
        lines.append(table(header, rows))
        lines.append(String(format: "correlation (Pearson) %.4f; %@ %.2f s, real patching %.2f s", g.correlation, g.method.description,
                            g.attributionSeconds, g.patchingSeconds))
        return lines.joined(separator: "\n")
    }

    static func gridJSON(_ g: AttributionPatching, component: String) -> [String: Any] {
        ["component": component, "method": g.method.description, "patching": g.patching, "attribution": g.attribution,
         "correlation": g.correlation, "base_metric": g.baseMetric, "source_metric": g.sourceMetric,
         "attribution_seconds": g.attributionSeconds, "patching_seconds": g.patchingSeconds]
    }

    /// patching.svg and attribution.svg in `folder`, on one colour scale.
    static func writeSVG(_ g: AttributionPatching, tokens: [String], component: String, to folder: String) throws {
        let rows = g.attribution.indices.map { "L\($0)" }, columns = tokens.enumerated().map { "\($0.offset) \($0.element)" }
        let limit = (g.patching + g.attribution).joined().map { Swift.abs($0) }.max() ?? 1
        try SVGPlot.write(SVGPlot.signedHeatmap(g.patching, rowLabels: rows, columnLabels: columns,
                                                title: "activation patching at \(component): Δ metric", limit: limit),
                          to: (folder as NSString).appendingPathComponent("patching.svg"))
        try SVGPlot.write(SVGPlot.signedHeatmap(g.attribution, rowLabels: rows, columnLabels: columns,
                                                title: String(format: "%@ at %@ (r = %.3f)", g.method.description, component, g.correlation), limit: limit),
                          to: (folder as NSString).appendingPathComponent("attribution.svg"))
    }

    /// Writes `object` as JSON (sorted keys) to `path`.
    static func write(_ object: [String: Any], to path: String) throws {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
