import Foundation

extension SVGPlot {
    /// A causal-tracing heatmap as in Meng et al. (2022): one row per position labelled with its
    /// token (corrupted positions marked with *), one column per layer, the colour of a cell its
    /// indirect effect (red above zero, blue below, white at zero, symmetric about zero up to the
    /// largest |effect|), and a hover `<title>` per cell with the layer, token, restored value and
    /// effect. `values` and `effects` are layers × positions.
    public static func traceHeatmap(values: [[Double]], effects: [[Double]], tokens: [String], marked: Set<Int>, title: String,
                                    valueName: String = "p") -> String {
        let layers = effects.count, positions = tokens.count
        let cell = 16, left = 12 + 7 * min(24, (tokens.map(\.count).max() ?? 4) + 4), top = 46
        // Wide enough for the title too (about 7 pixels a character at 13 px).
        let width = Swift.max(left + cell * layers + 90, 7 * title.count + 20), height = top + cell * positions + 44
        let scale = Swift.max(effects.joined().map { Swift.abs($0) }.max() ?? 0, 1e-12)
        func label(_ p: Int) -> String {
            let text = String(reflecting: tokens[p])
            return (text.count > 24 ? String(text.prefix(23)) + "…" : text) + (marked.contains(p) ? "*" : "")
        }
        func fill(_ effect: Double) -> String {
            let t = Swift.max(-1, Swift.min(1, effect / scale)), fade = Int(255 - 215 * Swift.abs(t))
            return t >= 0 ? "rgb(255,\(fade),\(fade))" : "rgb(\(fade),\(fade),255)"
        }
        var svg = ["<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" font-family=\"sans-serif\" font-size=\"11\">",
                   "<text x=\"\(width / 2)\" y=\"20\" text-anchor=\"middle\" font-size=\"13\">\(escape(title))</text>"]
        for p in 0..<positions {
            svg.append("<text x=\"\(left - 6)\" y=\"\(top + p * cell + cell / 2 + 4)\" text-anchor=\"end\">\(escape(label(p)))</text>")
            for l in 0..<layers {
                let tip = String(format: "layer %d, position %d %@: %@ = %.4f, effect %+.4f", l, p, String(reflecting: tokens[p]), valueName,
                                 values[l][p], effects[l][p])
                svg.append("<rect class=\"cell\" x=\"\(left + l * cell)\" y=\"\(top + p * cell)\" width=\"\(cell - 1)\" height=\"\(cell - 1)\" fill=\"\(fill(effects[l][p]))\"><title>\(escape(tip))</title></rect>")
            }
        }
        for l in stride(from: 0, to: layers, by: layers > 16 ? 5 : 1) {
            svg.append("<text x=\"\(left + l * cell + cell / 2)\" y=\"\(top + positions * cell + 14)\" text-anchor=\"middle\">\(l)</text>")
        }
        svg.append("<text x=\"\(left + layers * cell / 2)\" y=\"\(top + positions * cell + 32)\" text-anchor=\"middle\">layer</text>")
        // The colour bar: +scale at the top, −scale at the bottom.
        let barX = left + layers * cell + 24, barHeight = cell * positions
        for k in 0..<20 {
            let effect = scale * (1 - 2 * (Double(k) + 0.5) / 20)
            svg.append("<rect x=\"\(barX)\" y=\"\(top + k * barHeight / 20)\" width=\"12\" height=\"\(barHeight / 20 + 1)\" fill=\"\(fill(effect))\"/>")
        }
        svg.append(String(format: "<text x=\"%d\" y=\"%d\">%+.3g</text>", barX + 16, top + 8, scale))
        svg.append(String(format: "<text x=\"%d\" y=\"%d\">%+.3g</text>", barX + 16, top + barHeight, -scale))
        svg.append("</svg>")
        return svg.joined(separator: "\n")
    }
}
