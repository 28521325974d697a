import CausalAbstraction

/// The pages of a sweep folder: the heatmap of its metric (re-rendered from the cell results,
/// each cell a link to its page with its values on hover), the table of every cell, and a page
/// per cell with its settings, metrics and bundle.
struct SweepPages {
    let site: BrowserSite
    let cache: Int
    let contents: SweepContents

    var links: LinkStyle { site.links }
    var manifest: SweepManifest { contents.manifest }
    var crumbs: [(String, String)] { [("index", links.index()), (site.caches[cache].name, links.cache(cache))] }

    /// The swept axes: those of the manifest's cells that hold a value.
    var axes: [SweepAxis] { SweepAxis.allCases.filter { axis in manifest.cells.contains { $0.label(axis) != nil } } }

    /// Experiment, hash, progress and best cell; the heatmap; the table of all cells.
    func overview() -> String {
        let results = contents.results
        var facts: [(String, String)] = [
            ("experiment", HTML.escape(manifest.experimentName)), ("hash", "<code>\(HTML.escape(manifest.experimentHash))</code>"),
            ("metric", HTML.escape(manifest.metric)),
            ("cells", "\(results.results.count) of \(manifest.cells.count) finished" + (contents.missing.isEmpty ? "" : " (waiting: \(missingList))")),
            ("axes", HTML.escape(axes.map(\.rawValue).joined(separator: " × "))),
        ]
        if let best = results.best {
            facts.append(("best", "<a href=\"\(links.cell(cache, best.cell.index))\" id=\"best\">cell \(best.cell.index)</a> "
                + HTML.escape("\(best.cell.summary): \(manifest.metric) = \(HTML.number(best.metrics[manifest.metric] ?? .nan, digits: 4))")))
        }
        facts.append(("seconds", HTML.number(results.results.map(\.seconds).reduce(0, +), digits: 1)))
        var body = HTML.facts(facts)
        body += "<h2>Heatmap</h2>"
        if results.results.isEmpty {
            body += "<p>No cell has finished yet.</p>"
        } else {
            body += "<p class=\"meta\">Hover a cell for its values; click it for its page.</p><div id=\"heatmap\">"
            body += SweepHeatmap.svg(results, cellLink: { links.cell(cache, $0) }) + "</div>"
        }
        body += "<h2>Cells</h2>" + cellTable()
        return HTML.document(title: "Sweep \(site.caches[cache].name)", breadcrumbs: crumbs, body: body)
    }

    var missingList: String {
        contents.missing.prefix(20).map(String.init).joined(separator: ", ") + (contents.missing.count > 20 ? ", …" : "")
    }

    /// Index, the swept axes, every metric and the seconds of each cell; unfinished cells keep
    /// their settings and an empty metric.
    func cellTable() -> String {
        let metrics = contents.results.metricNames
        let header: [(label: String, numeric: Bool)] = [("cell", true)] + axes.map { ($0.rawValue, $0 != .variable && $0 != .interventionType) } + metrics.map { ($0, true) } + [("seconds", true)]
        let rows = manifest.cells.map { cell -> [String] in
            let result = contents.result(cell.index)
            let link = result == nil ? "\(cell.index)" : "<a href=\"\(links.cell(cache, cell.index))\">\(cell.index)</a>"
            return [link] + axes.map { HTML.escape(cell.label($0) ?? "n/a") }
                + metrics.map { name in result?.metrics[name].map { HTML.number($0, digits: 4) } ?? "" }
                + [result.map { HTML.number($0.seconds, digits: 2) } ?? "not finished"]
        }
        return HTML.table(header, rows: rows, id: "cells")
    }

    /// Cell `k`: its settings, metrics and seconds, and its bundle's page.
    func cell(_ k: Int) -> String {
        let cell = manifest.cells[k]
        var facts: [(String, String)] = [("cell", "\(k) of \(manifest.cells.count)")]
        for axis in axes { facts.append((axis.rawValue, HTML.escape(cell.label(axis) ?? "n/a"))) }
        var body = ""
        if let result = contents.result(k) {
            facts.append(("seconds", HTML.number(result.seconds, digits: 2)))
            body += HTML.facts(facts) + "<h2>Metrics</h2>"
            body += HTML.table([("metric", false), ("value", true)], rows: result.metrics.keys.sorted().map {
                [HTML.escape($0), HTML.number(result.metrics[$0]!, digits: 4)]
            }, id: "metrics")
        } else {
            body += HTML.facts(facts) + "<p id=\"unfinished\">This cell has not finished: its shard has not written cells/\(cell.name).json yet.</p>"
        }
        body += "<h2>Bundle</h2>"
        if contents.bundles[k] != nil {
            body += "<p><a href=\"\(links.cellBundle(cache, k))\" id=\"bundle-link\">Inspect the bundle</a> (bundles/\(cell.name): config, metrics, card, weights)</p>"
        } else if let error = contents.bundleErrors[k] {
            body += "<p class=\"error\">bundles/\(cell.name) cannot be read: \(HTML.escape(error))</p>"
        } else {
            body += "<p>No bundle was saved for this cell.</p>"
        }
        // Neighbours with a page (a static site writes finished cells only).
        var nav: [String] = []
        if let previous = contents.results.results.last(where: { $0.cell.index < k }) {
            nav.append("<a href=\"\(links.cell(cache, previous.cell.index))\">← cell \(previous.cell.index)</a>")
        }
        if let next = contents.results.results.first(where: { $0.cell.index > k }) {
            nav.append("<a href=\"\(links.cell(cache, next.cell.index))\">cell \(next.cell.index) →</a>")
        }
        body += "<p>" + nav.joined(separator: " · ") + "</p>"
        return HTML.document(title: "Cell \(k): \(cell.summary)", breadcrumbs: crumbs + [("cell \(k)", links.cell(cache, k))], body: body)
    }
}
