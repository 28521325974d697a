import Foundation
import Models
import Tensors

/// One activation of a run: a site and a position.
public struct TraceNode: Hashable, Sendable {
    public let site: Site
    public let position: Int

    public init(site: Site, position: Int) {
        self.site = site
        self.position = position
    }
}

/// Corrupted runs into which clean activations are restored, many restorations per batched pass.
///
/// A corrupted run reads `corruptedInput` with, for noise sample k, `noise[k]` (1, S, D) added to
/// the token embeddings (`hook_embed`); with no noise there is one corrupted run. A restoration
/// is a set of nodes (site, position); in its rows every such activation a is replaced by the
/// clean run's (the run on `cleanInput` without noise):
///
///     a ← M ⊙ a_clean + (1 − M) ⊙ a      M (B, S, 1, …) is 1 at the row's restored positions
///
/// (exact: where M = 0 the activation is kept bit for bit, where M = 1 it is the clean one). The
/// value of a restoration is the metric averaged over the noise samples:
///
///     value(R) = (1/K) Σ_k m(corrupted run k with R restored)
///
/// Causal tracing (Meng et al. 2022) restores into noised runs of the clean prompt; activation
/// patching restores a clean prompt's activations into the run of a contrastive prompt.
public final class RestorationRuns {
    public let model: any HookableModel
    /// The tokens every corrupted run reads, and the clean run's.
    public let corruptedInput: [Int], cleanInput: [Int]
    /// Per noise sample, (1, S, D) added to the token embeddings; empty: no noise, one run.
    public let noise: [Tensor]
    public let metric: AttributionMetric
    /// Rows per batched pass.
    public let maxRows: Int
    /// The metric of the clean run, and of the corrupted runs (averaged over the samples).
    public private(set) var cleanMetric = 0.0, corruptedMetric = 0.0
    /// The first position whose activations the corruption can change (earlier positions see the
    /// same tokens in a causal model, so restoring them changes nothing and is not run).
    public let firstAffected: Int
    private var clean: [Site: Tensor] = [:]
    private let embeddingSpec: SiteSpec?

    /// Runs the clean input once (recording `sites`) and the corrupted runs once.
    ///
    /// Throws `ExperimentError.invalid` when the inputs differ in length or are empty, a noise
    /// tensor is not (1, S, D), or `maxRows` < 1; site errors for sites the model lacks.
    public init(model: any HookableModel, cleanInput: [Int], corruptedInput: [Int], noise: [Tensor] = [], sites: [Site],
                metric: AttributionMetric, maxRows: Int = 32) throws {
        guard !cleanInput.isEmpty, cleanInput.count == corruptedInput.count else {
            throw ExperimentError.invalid(file: "patching", field: "corrupted", value: "\(corruptedInput.count) tokens",
                                          expected: "as many tokens as the clean prompt (\(cleanInput.count)), at least one")
        }
        guard maxRows >= 1 else { throw ExperimentError.invalid(file: "tracing", field: "maxRows", value: "\(maxRows)", expected: "an integer ≥ 1") }
        self.model = model
        self.cleanInput = cleanInput
        self.corruptedInput = corruptedInput
        self.noise = noise
        self.metric = metric
        self.maxRows = maxRows
        if noise.isEmpty {
            embeddingSpec = nil
        } else {
            let spec = try model.siteTable.spec(for: Site(layer: 0, component: .tokenEmbedding))
            for n in noise where n.rank != 3 || n.shape[0] != 1 || n.shape[1] != cleanInput.count || n.shape[2] != spec.unitDimension {
                throw ExperimentError.invalid(file: "tracing", field: "noise", value: "shape \(n.shape)",
                                              expected: "(1, \(cleanInput.count), \(spec.unitDimension)): one noise vector per token")
            }
            embeddingSpec = spec
        }
        let noised = noise.map { n in (0..<n.shape[1]).first { p in n.narrowed(1, start: p, length: 1).abs().maxValue() > 0 } ?? n.shape[1] }
        let differing = cleanInput.indices.first { cleanInput[$0] != corruptedInput[$0] } ?? cleanInput.count
        firstAffected = min(differing, noised.min() ?? cleanInput.count)
        let input = ModelInput.tokens(IndexTensor(shape: [1, cleanInput.count], values: cleanInput))
        let (output, cache) = try Tensor.withoutGradients { try model.runWithCache(input, sites: sites) }
        clean = cache
        cleanMetric = Double(metric.values(output.logits).item)
        corruptedMetric = try values(of: [[]], progress: { _, _ in }).first ?? 0
    }

    /// The number of runs (noise samples) each restoration is averaged over.
    public var samples: Int { max(1, noise.count) }

    /// The number of batched passes `restorations` restorations take.
    public func passes(_ restorations: Int) -> Int { (restorations * samples + maxRows - 1) / maxRows }

    /// value(R) for each restoration R (a set of nodes whose sites were recorded at init), in
    /// passes of at most `maxRows` rows; `progress` is called with (passes done, passes in all).
    public func values(of restorations: [[TraceNode]], progress: (Int, Int) -> Void) throws -> [Double] {
        for node in restorations.joined() where clean[node.site] == nil || !(0..<cleanInput.count).contains(node.position) {
            throw ExperimentError.invalid(file: "tracing", field: "restoration", value: "\(node.site) at position \(node.position)",
                                          expected: "a recorded site (\(clean.keys.map(\.description).sorted().joined(separator: ", "))) at a position in 0..<\(cleanInput.count)")
        }
        let rows = restorations.indices.flatMap { r in (0..<samples).map { (restoration: r, sample: $0) } }
        var sums = [Double](repeating: 0, count: restorations.count)
        let total = passes(restorations.count)
        for (pass, start) in stride(from: 0, to: rows.count, by: maxRows).enumerated() {
            let chunk = Array(rows[start..<min(start + maxRows, rows.count)])
            var options = ForwardOptions()
            options.hooks = hooks(chunk.map { (nodes: restorations[$0.restoration], sample: $0.sample) })
            options.logitsForLastPositionOnly = true
            let ids = IndexTensor(shape: [chunk.count, corruptedInput.count], values: Array(chunk.map { _ in corruptedInput }.joined()))
            let logits = try Tensor.withoutGradients { try model.forward(.tokens(ids), options: options).logits }
            for (row, value) in zip(chunk, metric.values(logits).scalars) { sums[row.restoration] += Double(value) }
            progress(pass + 1, total)
        }
        return sums.map { $0 / Double(samples) }
    }

    /// The noise at the token embeddings and the restorations of each row.
    func hooks(_ rows: [(nodes: [TraceNode], sample: Int)]) -> HookRegistry {
        let hooks = HookRegistry(), length = cleanInput.count
        if let spec = embeddingSpec {
            let added = Tensor.concatenate(rows.map { noise[$0.sample] }, axis: 0)
            hooks.add(layer: 0, tap: spec.tap) { tapped, _ in
                tapped = SiteViews.replacing(in: tapped, spec.view, with: SiteViews.view(tapped, spec.view) + added)
            }
        }
        let sites = Set(rows.flatMap { $0.nodes.map(\.site) }).sorted { ($0.layer, $0.component) < ($1.layer, $1.component) }
        for site in sites {
            guard let source = clean[site], let spec = try? model.siteTable.spec(for: site) else { continue }
            var mask = [Float](repeating: 0, count: rows.count * length)
            for (r, row) in rows.enumerated() {
                for node in row.nodes where node.site == site { mask[r * length + node.position] = 1 }
            }
            let shape = [rows.count, length] + [Int](repeating: 1, count: source.rank - 2)
            let m = Tensor(shape: shape, values: mask), keep = Tensor(shape: shape, values: mask.map { 1 - $0 })
            hooks.add(layer: site.layer, tap: spec.tap) { tapped, _ in
                let viewed = SiteViews.view(tapped, spec.view)
                tapped = SiteViews.replacing(in: tapped, spec.view, with: m * source + keep * viewed)
            }
        }
        return hooks
    }
}
