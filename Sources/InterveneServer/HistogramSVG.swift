import Features

/// An inline SVG bar chart of a latent's activation histogram: bin j (j·w ≤ z < (j+1)·w) is a
/// bar whose height is its count over the largest count; hovering a bar shows its range and
/// count (an SVG `<title>`). Counts are drawn on a linear scale.
enum HistogramSVG {
    static func render(_ histogram: LatentHistogram, width: Int = 640, height: Int = 180) -> String {
        let bins = histogram.counts.count, top = max(histogram.counts.max() ?? 0, 1)
        let left = 40, bottom = 22, plotW = width - left - 8, plotH = height - bottom - 8
        let barW = Double(plotW) / Double(max(bins, 1))
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"histogram\" width=\"\(width)\" height=\"\(height)\" role=\"img\" aria-label=\"activation histogram\">"
        svg += "<line x1=\"\(left)\" y1=\"\(8 + plotH)\" x2=\"\(left + plotW)\" y2=\"\(8 + plotH)\" stroke=\"#888\"/>"
        svg += "<text x=\"\(left - 4)\" y=\"14\" font-size=\"11\" text-anchor=\"end\">\(top)</text>"
        svg += "<text x=\"\(left - 4)\" y=\"\(8 + plotH)\" font-size=\"11\" text-anchor=\"end\">0</text>"
        for (j, count) in histogram.counts.enumerated() {
            let h = Double(plotH) * Double(count) / Double(top)
            let x = Double(left) + Double(j) * barW
            let low = Double(j) * Double(histogram.binWidth), high = Double(j + 1) * Double(histogram.binWidth)
            svg += "<rect class=\"bar\" x=\"\(HTML.number(x, digits: 2))\" y=\"\(HTML.number(Double(8 + plotH) - h, digits: 2))\" "
            svg += "width=\"\(HTML.number(max(barW - 1, 0.5), digits: 2))\" height=\"\(HTML.number(h, digits: 2))\">"
            svg += "<title>\(HTML.number(low, digits: 4)) ≤ z &lt; \(HTML.number(high, digits: 4)): \(count)</title></rect>"
        }
        let end = Double(bins) * Double(histogram.binWidth)
        svg += "<text x=\"\(left)\" y=\"\(height - 6)\" font-size=\"11\">0</text>"
        svg += "<text x=\"\(left + plotW)\" y=\"\(height - 6)\" font-size=\"11\" text-anchor=\"end\">z = \(HTML.number(end, digits: 4))</text>"
        return svg + "</svg>"
    }
}
