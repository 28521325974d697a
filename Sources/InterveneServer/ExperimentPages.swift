import CausalAbstraction

extension LinkStyle {
    /// `/cache/I/cell/K` or `cache-I-cell-K.html`: a sweep cell.
    func cell(_ i: Int, _ k: Int) -> String { self == .server ? "/cache/\(i)/cell/\(k)" : "cache-\(i)-cell-\(k).html" }
    /// `/cache/I/cell/K/bundle` or `cache-I-cell-K-bundle.html`: a sweep cell's bundle.
    func cellBundle(_ i: Int, _ k: Int) -> String { self == .server ? "/cache/\(i)/cell/\(k)/bundle" : "cache-\(i)-cell-\(k)-bundle.html" }
    /// `/cache/I/grid/G` or `cache-I-grid-G.html`: a trace grid.
    func grid(_ i: Int, _ g: Int) -> String { self == .server ? "/cache/\(i)/grid/\(g)" : "cache-\(i)-grid-\(g).html" }
}

/// The pages of one experiment folder (served as cache I), dispatched by its kind:
///
///     /cache/I                   sweep: heatmap + cell table; trace: summary + grids;
///                                bundle: the inspector; attribution: the node table
///     /cache/I/cell/K            a sweep cell: settings, metrics, link to its bundle
///     /cache/I/cell/K/bundle     a sweep cell's bundle inspector
///     /cache/I/grid/G            a trace grid: token × layer heatmap with hover values
struct ExperimentPages {
    let site: BrowserSite
    let cache: Int
    let folder: ExperimentFolder

    var links: LinkStyle { site.links }
    var crumbs: [(String, String)] { [("index", links.index()), (site.caches[cache].name, links.cache(cache))] }

    /// The page of `request` (whose path starts /cache/I); throws 404 for paths the kind has not.
    func page(_ request: BrowserRequest) throws(PageError) -> String {
        let s = request.segments
        try request.allowOnly([])
        switch folder {
        case .sweep(let contents):
            let pages = SweepPages(site: site, cache: cache, contents: contents)
            if s.count == 2 { return pages.overview() }
            if s.count >= 4 && s.count <= 5 && s[2] == "cell" {
                let k = try BrowserRequest.index(s[3], field: "cell", in: 0..<contents.manifest.cells.count)
                if s.count == 4 { return pages.cell(k) }
                if s[4] == "bundle" {
                    guard let bundle = contents.bundles[k] else {
                        throw .notFound("cell \(k) has no readable bundle (\(contents.bundleErrors[k] ?? "no bundles/cell-NNNN/bundle.json")); allowed: cells \(describe(contents.bundles.keys.sorted()))")
                    }
                    return BundlePages(links: links, bundle: bundle).page(title: "Bundle of cell \(k)", crumbs: crumbs + [("cell \(k)", links.cell(cache, k))])
                }
            }
        case .trace(let trace):
            let pages = TracePages(site: site, cache: cache, trace: trace)
            if s.count == 2 { return pages.overview() }
            if s.count == 4 && s[2] == "grid" { return pages.grid(try BrowserRequest.index(s[3], field: "grid", in: 0..<trace.grids.count)) }
        case .bundle(let bundle):
            if s.count == 2 { return BundlePages(links: links, bundle: bundle).page(title: "Bundle \(site.caches[cache].name)", crumbs: crumbs) }
        case .attribution(let file):
            if s.count == 2 { return AttributionPages(site: site, cache: cache, file: file).page() }
        }
        throw site.notFound(request)
    }

    /// "0, 3, 5" (at most 20, then …) or "none".
    func describe(_ indices: [Int]) -> String {
        indices.isEmpty ? "none" : indices.prefix(20).map(String.init).joined(separator: ", ") + (indices.count > 20 ? ", …" : "")
    }

    /// The server paths of every page a static site writes beside /cache/I.
    func staticPaths() -> [String] {
        switch folder {
        case .sweep(let contents):
            return contents.results.results.map { "/cache/\(cache)/cell/\($0.cell.index)" }
                + contents.bundles.keys.sorted().map { "/cache/\(cache)/cell/\($0)/bundle" }
        case .trace(let trace): return trace.grids.indices.map { "/cache/\(cache)/grid/\($0)" }
        case .bundle, .attribution: return []
        }
    }

    /// The row of the index: link, kind, model or experiment, size, headline figures.
    func indexRow(link: String) -> [String] {
        switch folder {
        case .sweep(let c):
            let best = c.results.best.map { "best cell \($0.cell.index): \(c.manifest.metric) = \(HTML.number($0.metrics[c.manifest.metric] ?? .nan, digits: 4))" } ?? "no cell finished"
            return [link, "sweep", HTML.escape(c.manifest.experimentName), "\(c.results.results.count) of \(c.manifest.cells.count) cells", HTML.escape(best)]
        case .trace(let t):
            return [link, folder.kindDescription, HTML.escape(t.metric), "\(t.tokens.count) tokens, \(t.grids.count) grids",
                    HTML.escape("clean = \(HTML.number(t.clean, digits: 4)); corrupted = \(HTML.number(t.corrupted, digits: 4))")]
        case .bundle(let b):
            let metrics = BundlePages.metrics(b.json).map { "\($0.0) = \(HTML.number($0.1, digits: 4))" }
            return [link, "bundle", HTML.escape(b.json["model"]?["model_type"]?.stringValue ?? "?"), "\(b.tensors.count) tensors",
                    HTML.escape(metrics.joined(separator: "; "))]
        case .attribution(let a):
            return [link, "attribution", HTML.escape(a.metric), "\(a.nodes.count) nodes, \(a.tokens.count) tokens",
                    HTML.escape("\(a.method); metric = \(HTML.number(a.metricValue, digits: 4))")]
        }
    }
}
