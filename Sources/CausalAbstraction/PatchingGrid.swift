import Foundation
import Models
import Tensors

/// The work behind `AttributionPatching.run`: source and base caches, the nodes that differ,
/// real patching batched across nodes, and the gradient estimate of the chosen method.
final class PatchingGrid {
    let sites: [Site]
    let spec: SiteSpec
    let method: AttributionMethod
    let runsPatching: Bool
    let passes: InterpolatedPasses
    let progress: ((Int, Int) -> Void)?
    /// Source activation per layer (1, S, …) and source − base.
    let sourceCache: [Tensor]
    let deltas: [Tensor]
    /// Per layer, the positions at which source and base differ.
    let differing: [[Int]]
    let baseMetric: Double, sourceMetric: Double
    private var done = 0

    static let embeddingSite = Site(layer: 0, component: .tokenEmbedding)

    init(model: any HookableModel, base: [Int], source: [Int], sites: [Site], spec: SiteSpec, metric: AttributionMetric,
         method: AttributionMethod, patching: Bool, maxRows: Int, progress: ((Int, Int) -> Void)?) throws {
        self.sites = sites
        self.spec = spec
        self.method = method
        runsPatching = patching
        self.progress = progress
        var cached = sites
        let needsEmbeddings: Bool
        if case .integratedGradients(_, .input) = method { needsEmbeddings = true } else { needsEmbeddings = false }
        if needsEmbeddings {
            guard model.siteTable.specs[.tokenEmbedding] != nil else {
                throw ExperimentError.invalid(file: "attribution", field: "path", value: "input",
                                              expected: "a model with token embeddings (hook_embed); \(model.modelType) has none — use the layer or node path")
            }
            cached.append(Self.embeddingSite)
        }
        func run(_ ids: [Int]) throws -> (cache: [Site: Tensor], metric: Double) {
            let input = ModelInput.tokens(IndexTensor(shape: [1, ids.count], values: ids))
            let (output, cache) = try Tensor.withoutGradients { try model.runWithCache(input, sites: cached) }
            return (cache, Double(metric.values(output.logits).item))
        }
        let (sourceRun, baseRun) = (try run(source), try run(base))
        sourceCache = sites.map { sourceRun.cache[$0]! }
        deltas = sites.map { sourceRun.cache[$0]! - baseRun.cache[$0]! }
        differing = deltas.map { delta in
            let magnitude = delta.abs().reshaped([delta.shape[1], -1]).sum(axis: 1).scalars
            return magnitude.indices.filter { magnitude[$0] > 0 }
        }
        var targets = zip(sites, sourceCache).map { InterpolatedPasses.Target(site: $0, spec: spec, source: $1) }
        if needsEmbeddings, let sourceEmbedding = sourceRun.cache[Self.embeddingSite] {
            // The input path's end: the source's token embeddings (the base's are the tapped tensor).
            targets.append(InterpolatedPasses.Target(site: Self.embeddingSite, spec: try model.siteTable.spec(for: Self.embeddingSite), source: sourceEmbedding))
        }
        passes = InterpolatedPasses(model: model, base: base, metric: metric, targets: targets, maxRows: maxRows)
        baseMetric = baseRun.metric
        sourceMetric = sourceRun.metric
    }

    var length: Int { passes.base.count }

    /// The rows that move node (l, p) for each differing node, with coefficient `alpha` at p.
    func nodeRows(alphas: [Float]) -> [(l: Int, p: Int, row: InterpolatedPasses.Row)] {
        sites.indices.flatMap { l in
            differing[l].flatMap { p in
                alphas.map { a in (l, p, InterpolatedPasses.Row(target: l, coefficients: (0..<length).map { $0 == p ? a : 0 })) }
            }
        }
    }

    /// Passes the whole run takes.
    var totalPasses: Int {
        let nodes = differing.map(\.count).reduce(0, +)
        var total = runsPatching ? passes.passes(nodes) : 0
        switch method {
        case .linear: total += 1
        case .integratedGradients(let n, .input): total += passes.passes(n)
        case .integratedGradients(let n, .layer): total += passes.passes(differing.filter { !$0.isEmpty }.count * n)
        case .integratedGradients(let n, .node): total += passes.passes(nodes * n)
        }
        return total
    }

    func step() {
        done += 1
        progress?(done, totalPasses)
    }

    func run() throws -> AttributionPatching {
        let start = Date()
        let attribution = try attributionGrid()
        let attributionSeconds = Date().timeIntervalSince(start)
        let patchStart = Date()
        let patching = runsPatching ? try patchingGrid() : []
        return AttributionPatching(patching: patching, attribution: attribution, baseMetric: baseMetric, sourceMetric: sourceMetric,
                                   method: method, attributionSeconds: attributionSeconds,
                                   patchingSeconds: runsPatching ? Date().timeIntervalSince(patchStart) : 0)
    }

    /// Real activation patching: one row per differing node, patched to the source.
    func patchingGrid() throws -> [[Double]] {
        var grid = [[Double]](repeating: [Double](repeating: 0, count: length), count: sites.count)
        let nodes = nodeRows(alphas: [1])
        let values = try passes.metrics(rows: nodes.map(\.row), progress: step)
        for (node, value) in zip(nodes, values) { grid[node.l][node.p] = Double(value) - baseMetric }
        return grid
    }

    /// The gradient estimate of `method` per layer and position.
    func attributionGrid() throws -> [[Double]] {
        var grid = [[Double]](repeating: [Double](repeating: 0, count: length), count: sites.count)
        switch method {
        case .linear:
            let g = try passes.gradients(at: sites, rows: [InterpolatedPasses.Row(target: 0, coefficients: [Float](repeating: 0, count: length))], progress: step)
            for l in sites.indices { grid[l] = meanDot(g[sites[l]]!, l) }
        case .integratedGradients(let n, .input):
            // The base's embeddings are the tapped tensor; moving them toward the source's is the path.
            let rows = AttributionMethod.points(n).map { InterpolatedPasses.Row(target: sites.count, coefficients: [Float](repeating: $0, count: length)) }
            let g = try passes.gradients(at: sites, rows: rows, progress: step)
            for l in sites.indices { grid[l] = meanDot(g[sites[l]]!, l) }
        case .integratedGradients(let n, .layer):
            let layers = sites.indices.filter { !differing[$0].isEmpty }
            let rows = layers.flatMap { l in AttributionMethod.points(n).map { InterpolatedPasses.Row(target: l, coefficients: [Float](repeating: $0, count: length)) } }
            let g = try passes.gradients(at: layers.map { sites[$0] }, rows: rows, progress: step)
            for (i, l) in layers.enumerated() {
                grid[l] = meanDot(g[sites[l]]!.narrowed(0, start: i * n, length: n), l)
            }
        case .integratedGradients(let n, .node):
            let nodes = nodeRows(alphas: AttributionMethod.points(n))
            let layers = sites.indices.filter { !differing[$0].isEmpty }
            let g = try passes.gradients(at: layers.map { sites[$0] }, rows: nodes.map(\.row), progress: step)
            for (r, node) in nodes.enumerated() {
                let dot = g[sites[node.l]]!.narrowed(0, start: r, length: 1).narrowed(1, start: node.p, length: 1)
                    .positionDot(deltas[node.l].narrowed(1, start: node.p, length: 1))
                grid[node.l][node.p] += Double(dot.item) / Double(n)
            }
        }
        return grid
    }

    /// (1/B) Σ_rows ⟨g, Δ(l)⟩ per position, for gradients g (B, S, …) at layer l.
    func meanDot(_ g: Tensor, _ l: Int) -> [Double] {
        let dots = g.positionDot(deltas[l]), rows = g.shape[0]
        let values = dots.sum(axis: 0).scalars
        return values.map { Double($0) / Double(rows) }
    }
}
