import Foundation
import Intervene
import Models
import Tensors

/// Activation patching and its linear approximation, attribution patching, over layers ×
/// positions at one component, for a scalar metric of the last position's logits (e.g. the logit
/// of a target minus a distractor).
///
///     patching[l][p]     = m(base with site (l, p) ← source) − m(base)          (L × S forwards)
///     attribution[l][p]  = ⟨∂m/∂a(l, p) at base, a_source(l, p) − a_base(l, p)⟩  (one backward)
public struct AttributionPatching {
    /// The per-layer, per-position effects (layers × positions).
    public let patching: [[Double]]
    public let attribution: [[Double]]
    /// The metric on the base and on the source.
    public let baseMetric: Double, sourceMetric: Double

    /// Pearson correlation of the two grids.
    public var correlation: Double {
        let a = patching.flatMap { $0 }, b = attribution.flatMap { $0 }
        let ma = a.reduce(0, +) / Double(a.count), mb = b.reduce(0, +) / Double(b.count)
        let cov = zip(a, b).map { ($0 - ma) * ($1 - mb) }.reduce(0, +)
        let va = a.map { ($0 - ma) * ($0 - ma) }.reduce(0, +), vb = b.map { ($0 - mb) * ($0 - mb) }.reduce(0, +)
        return cov / Swift.max((va * vb).squareRoot(), .leastNonzeroMagnitude)
    }

    /// m = logit(target) − logit(distractor) at the last position.
    public static func logitDifference(target: Int, distractor: Int) -> (Tensor) -> Tensor {
        { logits in
            let last = logits.atPosition(-1)
            return (last.narrowed(1, start: target, length: 1) - last.narrowed(1, start: distractor, length: 1)).sum()
        }
    }

    /// Both grids for `component` (a (B, S, d) site such as block_output) at every layer and
    /// position of `base` and `source` (token ids of one length).
    public static func run(model: any HookableModel, base: [Int], source: [Int], component: Component,
                           metric: @escaping (Tensor) -> Tensor) throws -> AttributionPatching {
        guard base.count == source.count, !base.isEmpty else {
            throw ExperimentError.invalid(file: "attribution", field: "source", value: "\(source.count) tokens", expected: "as many tokens as the base (\(base.count))")
        }
        let layers = model.siteTable.layers, length = base.count
        let sites = (0..<layers).map { Site(layer: $0, component: component) }
        let spec = try model.siteTable.spec(for: sites[0])
        guard !spec.isHeadMajor else {
            throw ExperimentError.invalid(file: "attribution", field: "component", value: component.rawValue, expected: "a (batch, positions, width) site")
        }
        func input(_ ids: [Int]) -> ModelInput { .tokens(IndexTensor(shape: [1, ids.count], values: ids)) }
        let (sourceOutput, sourceCache) = try Tensor.withoutGradients { try model.runWithCache(input(source), sites: sites) }
        let gradients = try model.gradients(input(base), at: sites) { metric($0.logits) }
        let baseMetric = Double(gradients.value)
        var patching = [[Double]](repeating: [Double](repeating: 0, count: length), count: layers), attribution = patching
        for (l, site) in sites.enumerated() {
            let delta = sourceCache[site]! - gradients.activations[site]!
            let product = (gradients.gradients[site]! * delta).sum(axis: -1).reshaped([length]).scalars
            for p in 0..<length {
                attribution[l][p] = Double(product[p])
                let hooks = HookRegistry()
                hooks.add(layer: l, tap: spec.tap) { a, _ in
                    let s = sourceCache[site]!.narrowed(1, start: p, length: 1)
                    var parts = [a.narrowed(1, start: 0, length: p), s, a.narrowed(1, start: p + 1, length: length - p - 1)]
                    parts.removeAll { $0.shape[1] == 0 }
                    a = Tensor.concatenate(parts, axis: 1)
                }
                var options = ForwardOptions()
                options.hooks = hooks
                let patched = try Tensor.withoutGradients { try model.forward(input(base), options: options) }
                patching[l][p] = Double(metric(patched.logits).item) - baseMetric
            }
        }
        return AttributionPatching(patching: patching, attribution: attribution, baseMetric: baseMetric,
                                   sourceMetric: Double(metric(sourceOutput.logits).item))
    }
}
