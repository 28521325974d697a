import Foundation

/// The sweep figure: a heatmap of one metric (IIA by default) with the manifest's row and
/// column axes, one panel per combination of the other swept axes. Every cell carries a
/// `<title>` (shown on hover) with its values and metric; cells a panel lacks stay grey.
public enum SweepHeatmap {
    /// The label of a cell on an axis it has no value for (a subspace size for a type that reads none).
    static let notApplicable = "n/a"

    /// The SVG text of `results`' heatmap. With `cellLink` (a cell index → an href, e.g. the
    /// browser's cell page) each cell is an SVG `<a>` to it, and its rect has class "cell" and
    /// `data-cell` = its index.
    public static func svg(_ results: SweepResults, cellLink: ((Int) -> String)? = nil) -> String {
        let manifest = results.manifest, metric = manifest.metric
        let rowAxis = manifest.rows, columnAxis = manifest.columns
        let panelAxes = results.axes.filter { $0 != rowAxis && $0 != columnAxis }
        func label(_ r: SweepCellResult, _ axis: SweepAxis?) -> String { axis.map { r.cell.label($0) ?? notApplicable } ?? metric }
        func panelKey(_ r: SweepCellResult) -> String {
            panelAxes.map { "\($0.rawValue)=\(r.cell.label($0) ?? notApplicable)" }.joined(separator: "  ")
        }
        let panels = orderedUnique(results.results.map(panelKey))
        let rowLabels = orderedUnique(results.results.map { label($0, rowAxis) })
        let cell = 56, left = 110, top = 60
        let panelColumns = panels.map { key in orderedUnique(results.results.filter { panelKey($0) == key }.map { label($0, columnAxis) }) }
        // Panels side by side, at most three to a row (two by two for four).
        let perRow = panels.count == 4 ? 2 : Swift.max(1, Swift.min(panels.count, 3)), panelRows = (panels.count + perRow - 1) / perRow
        let panelWidth = Swift.max(left + cell * (panelColumns.map(\.count).max() ?? 1) + 20, 7 * (panels.map(\.count).max() ?? 0) + 30)
        let panelHeight = cell * rowLabels.count + 70
        let titleWidth = 7 * manifest.experimentName.count + 40
        let width = Swift.max(panelWidth * perRow, titleWidth), height = top + panelHeight * panelRows
        var svg = ["<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" font-family=\"sans-serif\" font-size=\"12\">",
                   "<text x=\"\(width / 2)\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">\(SVGPlot.escape(manifest.experimentName))</text>",
                   "<text x=\"\(width / 2)\" y=\"40\" text-anchor=\"middle\" fill=\"#555\">\(SVGPlot.escape(metric)) by \(rowAxis.rawValue)\(columnAxis.map { " × \($0.rawValue)" } ?? "")</text>"]
        for (p, key) in panels.enumerated() {
            let x0 = (p % perRow) * panelWidth, y0 = top + (p / perRow) * panelHeight + (key.isEmpty ? 0 : 18)
            if !key.isEmpty { svg.append("<text x=\"\(x0 + 20)\" y=\"\(y0 - 6)\" font-weight=\"bold\">\(SVGPlot.escape(key))</text>") }
            let columns = panelColumns[p]
            for (r, rowLabel) in rowLabels.enumerated() {
                svg.append("<text x=\"\(x0 + left - 8)\" y=\"\(y0 + r * cell + cell / 2 + 4)\" text-anchor=\"end\">\(SVGPlot.escape("\(rowAxis.rawValue) \(rowLabel)"))</text>")
                for (c, columnLabel) in columns.enumerated() {
                    let x = x0 + left + c * cell, y = y0 + r * cell
                    guard let result = results.results.first(where: { panelKey($0) == key && label($0, rowAxis) == rowLabel && label($0, columnAxis) == columnLabel }),
                          let value = result.metrics[metric] else {
                        svg.append("<rect x=\"\(x)\" y=\"\(y)\" width=\"\(cell - 2)\" height=\"\(cell - 2)\" fill=\"#eee\"><title>no result</title></rect>")
                        continue
                    }
                    let t = Swift.max(0, Swift.min(1, value)), red = Int(255 - 200 * t), green = Int(255 - 120 * t)
                    let title = "cell \(result.cell.index): \(result.cell.summary); \(metric) \(String(format: "%.4f", value))"
                    let link = cellLink.map { "<a href=\"\(SVGPlot.escape($0(result.cell.index)).replacingOccurrences(of: "\"", with: "&quot;"))\">" } ?? ""
                    let marked = cellLink == nil ? "" : " class=\"cell\" data-cell=\"\(result.cell.index)\""
                    svg.append("\(link)<g><title>\(SVGPlot.escape(title))</title>")
                    svg.append("<rect\(marked) x=\"\(x)\" y=\"\(y)\" width=\"\(cell - 2)\" height=\"\(cell - 2)\" fill=\"rgb(\(red),\(green),255)\"/>")
                    svg.append("<text x=\"\(x + cell / 2 - 1)\" y=\"\(y + cell / 2 + 4)\" text-anchor=\"middle\" fill=\"\(t > 0.6 ? "white" : "black")\">\(String(format: "%.2f", value))</text></g>\(link.isEmpty ? "" : "</a>")")
                }
            }
            for (c, columnLabel) in columns.enumerated() {
                svg.append("<text x=\"\(x0 + left + c * cell + cell / 2 - 1)\" y=\"\(y0 + rowLabels.count * cell + 14)\" text-anchor=\"middle\">\(SVGPlot.escape(columnLabel))</text>")
            }
            if let columnAxis {
                svg.append("<text x=\"\(x0 + left + columns.count * cell / 2)\" y=\"\(y0 + rowLabels.count * cell + 30)\" text-anchor=\"middle\" fill=\"#555\">\(SVGPlot.escape(columnAxis.rawValue))</text>")
            }
        }
        svg.append("</svg>")
        return svg.joined(separator: "\n") + "\n"
    }
}
