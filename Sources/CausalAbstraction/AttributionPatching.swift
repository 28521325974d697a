import Foundation
import Intervene
import Models
import Tensors

/// Activation patching and its gradient estimates (attribution patching, integrated gradients)
/// over layers × positions at one component, for a metric of the last position's logits.
///
///     patching[l][p]     = m(base with a(l, p) ← a_src(l, p)) − m(base)      one row per node, batched
///     attribution[l][p]  = the estimate of `method` (see `AttributionMethod`)
///
/// Nodes whose source and base activations are equal (positions before the first token that
/// differs) have patching effect and attribution exactly 0 and are not run.
public struct AttributionPatching {
    /// Real activation patching per layer and position (layers × positions); empty when not asked.
    public let patching: [[Double]]
    /// The gradient estimate per layer and position.
    public let attribution: [[Double]]
    /// The metric on the base and on the source.
    public let baseMetric: Double, sourceMetric: Double
    /// How the attribution was computed.
    public let method: AttributionMethod
    /// Wall-clock seconds of the attribution and of real patching (0 when not run).
    public let attributionSeconds: Double, patchingSeconds: Double

    /// Pearson correlation of the two grids.
    public var correlation: Double { Self.pearson(patching.flatMap { $0 }, attribution.flatMap { $0 }) }

    /// Pearson correlation of two equally long series (0 when either is constant).
    public static func pearson(_ a: [Double], _ b: [Double]) -> Double {
        guard a.count == b.count, !a.isEmpty else { return 0 }
        let ma = a.reduce(0, +) / Double(a.count), mb = b.reduce(0, +) / Double(b.count)
        let cov = zip(a, b).map { ($0 - ma) * ($1 - mb) }.reduce(0, +)
        let va = a.map { ($0 - ma) * ($0 - ma) }.reduce(0, +), vb = b.map { ($0 - mb) * ($0 - mb) }.reduce(0, +)
        return va > 0 && vb > 0 ? cov / (va * vb).squareRoot() : 0
    }

    /// Both grids for `component` (a position-major site such as block_output or attn.hook_z) at
    /// every layer and position of `base` and `source` (token ids of one length).
    ///
    /// - Parameters:
    ///   - method: the gradient estimate (default: integrated gradients along the input path).
    ///   - patching: also run real activation patching (one batch row per node that differs).
    ///   - maxRows: rows per batched pass.
    ///   - progress: called with (passes done, passes in all) after every pass.
    public static func run(model: any HookableModel, base: [Int], source: [Int], component: Component,
                           metric: AttributionMetric, method: AttributionMethod = .standard, patching runPatching: Bool = true,
                           maxRows: Int = 32, progress: ((Int, Int) -> Void)? = nil) throws -> AttributionPatching {
        guard base.count == source.count, !base.isEmpty else {
            throw ExperimentError.invalid(file: "attribution", field: "source", value: "\(source.count) tokens", expected: "as many tokens as the base (\(base.count))")
        }
        if case .integratedGradients(let n, _) = method, n < 1 {
            throw ExperimentError.invalid(file: "attribution", field: "steps", value: "\(n)", expected: "an integer ≥ 1")
        }
        guard maxRows >= 1 else { throw ExperimentError.invalid(file: "attribution", field: "maxRows", value: "\(maxRows)", expected: "an integer ≥ 1") }
        let sites = (0..<model.siteTable.layers).map { Site(layer: $0, component: component) }
        let spec = try gridSpec(component, model: model)
        let grid = try PatchingGrid(model: model, base: base, source: source, sites: sites, spec: spec, metric: metric,
                                    method: method, patching: runPatching, maxRows: maxRows, progress: progress)
        return try grid.run()
    }

    /// The spec of `component` when it can be patched per layer and position: present at every
    /// layer and laid out (batch, positions, …); otherwise a typed error naming it.
    public static func gridSpec(_ component: Component, model: any HookableModel) throws -> SiteSpec {
        let spec = try model.siteTable.spec(for: Site(layer: 0, component: component))
        guard !spec.isHeadMajor, !spec.perTimeStep, spec.view != .positionMajor, spec.layers == .all else {
            throw ExperimentError.invalid(file: "attribution", field: "component", value: component.rawValue,
                                          expected: "a component at every layer laid out (batch, positions, …), such as block_output, attention_output, mlp_output or attn.hook_z")
        }
        return spec
    }
}
