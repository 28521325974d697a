import Foundation

/// Small, dependency-free SVG charts for results a person would rather look at than read:
/// IIA heatmaps over sites and training curves.
public enum SVGPlot {
    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    /// A heatmap of values in [0, 1] (e.g. IIA per layer × position), one labelled cell each.
    public static func heatmap(_ values: [[Double]], rowLabels: [String], columnLabels: [String], title: String) -> String {
        let cell = 64, left = 90, top = 50
        let width = left + cell * (columnLabels.count) + 20, height = top + cell * rowLabels.count + 40
        var svg = ["<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" font-family=\"sans-serif\" font-size=\"12\">",
                   "<text x=\"\(width / 2)\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">\(escape(title))</text>"]
        for (r, row) in values.enumerated() {
            svg.append("<text x=\"\(left - 8)\" y=\"\(top + r * cell + cell / 2 + 4)\" text-anchor=\"end\">\(escape(rowLabels[r]))</text>")
            for (c, v) in row.enumerated() {
                let t = Swift.max(0, Swift.min(1, v))
                let red = Int(255 - 200 * t), green = Int(255 - 120 * t), blue = 255
                let x = left + c * cell, y = top + r * cell
                svg.append("<rect x=\"\(x)\" y=\"\(y)\" width=\"\(cell - 2)\" height=\"\(cell - 2)\" fill=\"rgb(\(red),\(green),\(blue))\"/>")
                svg.append("<text x=\"\(x + cell / 2 - 1)\" y=\"\(y + cell / 2 + 4)\" text-anchor=\"middle\" fill=\"\(t > 0.6 ? "white" : "black")\">\(String(format: "%.2f", v))</text>")
            }
        }
        for (c, label) in columnLabels.enumerated() {
            svg.append("<text x=\"\(left + c * cell + cell / 2 - 1)\" y=\"\(top + rowLabels.count * cell + 18)\" text-anchor=\"middle\">\(escape(label))</text>")
        }
        svg.append("</svg>")
        return svg.joined(separator: "\n")
    }

    /// A heatmap of signed values (e.g. patching effects per layer × position): blue below zero,
    /// red above, white at zero, the colour scale symmetric about zero up to `limit` (default: the
    /// largest |value|), one labelled cell each.
    public static func signedHeatmap(_ values: [[Double]], rowLabels: [String], columnLabels: [String], title: String,
                                     limit: Double? = nil) -> String {
        let cellWidth = 72, cellHeight = 22, left = 60, top = 50
        let scale = limit ?? Swift.max(values.joined().map { Swift.abs($0) }.max() ?? 0, 1e-12)
        let width = left + cellWidth * columnLabels.count + 20, height = top + cellHeight * rowLabels.count + 40
        var svg = ["<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" font-family=\"sans-serif\" font-size=\"11\">",
                   "<text x=\"\(width / 2)\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">\(escape(title))</text>"]
        for (r, row) in values.enumerated() {
            svg.append("<text x=\"\(left - 8)\" y=\"\(top + r * cellHeight + cellHeight / 2 + 4)\" text-anchor=\"end\">\(escape(rowLabels[r]))</text>")
            for (c, v) in row.enumerated() {
                let t = Swift.max(-1, Swift.min(1, v / scale)), fade = Int(255 - 200 * Swift.abs(t))
                let fill = t >= 0 ? "rgb(255,\(fade),\(fade))" : "rgb(\(fade),\(fade),255)"
                let x = left + c * cellWidth, y = top + r * cellHeight
                svg.append("<rect x=\"\(x)\" y=\"\(y)\" width=\"\(cellWidth - 2)\" height=\"\(cellHeight - 2)\" fill=\"\(fill)\"/>")
                svg.append("<text x=\"\(x + cellWidth / 2 - 1)\" y=\"\(y + cellHeight / 2 + 3)\" text-anchor=\"middle\" fill=\"\(Swift.abs(t) > 0.6 ? "white" : "black")\">\(String(format: "%.2f", v))</text>")
            }
        }
        for (c, label) in columnLabels.enumerated() {
            svg.append("<text x=\"\(left + c * cellWidth + cellWidth / 2 - 1)\" y=\"\(top + rowLabels.count * cellHeight + 16)\" text-anchor=\"middle\">\(escape(label))</text>")
        }
        svg.append("</svg>")
        return svg.joined(separator: "\n")
    }

    /// Line chart of one or more series of (x, y) points. With `markers` (one class name per
    /// series), every point also gets a `<circle class="NAME">`.
    public static func lineChart(_ series: [(name: String, points: [(Double, Double)])], title: String, xLabel: String, yLabel: String,
                                 markers: [String]? = nil) -> String {
        let width = 560.0, height = 340.0, left = 60.0, right = 20.0, top = 40.0, bottom = 50.0
        let all = series.flatMap(\.points)
        let xs = all.map(\.0), ys = all.map(\.1)
        let (x0, x1) = (xs.min() ?? 0, Swift.max(xs.max() ?? 1, (xs.min() ?? 0) + 1e-9))
        let (y0, y1) = (Swift.min(ys.min() ?? 0, 0), Swift.max(ys.max() ?? 1, 1e-9))
        func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * (width - left - right) }
        func py(_ y: Double) -> Double { height - bottom - (y - y0) / (y1 - y0) * (height - top - bottom) }
        let colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]
        var svg = ["<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"12\">",
                   "<text x=\"\(width / 2)\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">\(escape(title))</text>",
                   "<line x1=\"\(left)\" y1=\"\(height - bottom)\" x2=\"\(width - right)\" y2=\"\(height - bottom)\" stroke=\"black\"/>",
                   "<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(height - bottom)\" stroke=\"black\"/>",
                   "<text x=\"\(width / 2)\" y=\"\(height - 12)\" text-anchor=\"middle\">\(escape(xLabel))</text>",
                   "<text x=\"16\" y=\"\(height / 2)\" text-anchor=\"middle\" transform=\"rotate(-90 16 \(height / 2))\">\(escape(yLabel))</text>"]
        for k in 0...4 {
            let y = y0 + (y1 - y0) * Double(k) / 4
            svg.append("<text x=\"\(left - 6)\" y=\"\(py(y) + 4)\" text-anchor=\"end\">\(String(format: "%.2g", y))</text>")
            let x = x0 + (x1 - x0) * Double(k) / 4
            svg.append("<text x=\"\(px(x))\" y=\"\(height - bottom + 16)\" text-anchor=\"middle\">\(String(format: "%.0f", x))</text>")
        }
        for (i, s) in series.enumerated() {
            let path = s.points.map { String(format: "%.1f,%.1f", px($0.0), py($0.1)) }.joined(separator: " ")
            svg.append("<polyline fill=\"none\" stroke=\"\(colors[i % colors.count])\" stroke-width=\"1.5\" points=\"\(path)\"/>")
            if let markers, i < markers.count {
                for p in s.points {
                    svg.append(String(format: "<circle class=\"%@\" cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%@\"/>",
                                      escape(markers[i]), px(p.0), py(p.1), colors[i % colors.count]))
                }
            }
            svg.append("<text x=\"\(width - right - 4)\" y=\"\(top + 14 * Double(i + 1))\" text-anchor=\"end\" fill=\"\(colors[i % colors.count])\">\(escape(s.name))</text>")
        }
        svg.append("</svg>")
        return svg.joined(separator: "\n")
    }

    /// Writes SVG text to a file, creating its folder.
    public static func write(_ svg: String, to path: String) throws {
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        try Data(svg.utf8).write(to: URL(fileURLWithPath: path))
    }
}
