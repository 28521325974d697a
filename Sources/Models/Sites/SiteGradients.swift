import Tensors

/// What `gradients(_:at:objective:)` returns: the objective, the model's output and, per site,
/// the activation and the objective's gradient with respect to it (both in the site's view).
public struct SiteGradients {
    /// The scalar objective's value.
    public let value: Float
    /// The forward pass's output.
    public let output: ModelOutput
    /// d objective / d activation at each site (zeros where the objective does not depend on it).
    public let gradients: [Site: Tensor]
    /// The activation at each site.
    public let activations: [Site: Tensor]
}

/// An error of a gradient request.
public enum GradientError: Error, CustomStringConvertible, Equatable {
    /// The objective is not a single number.
    case objectiveNotScalar(shape: [Int])
    /// Gradients are switched off (inside `Tensor.withoutGradients`).
    case gradientsDisabled

    public var description: String {
        switch self {
        case .objectiveNotScalar(let shape): return "the objective must be a scalar (one element); it has shape \(shape)"
        case .gradientsDisabled: return "gradients are switched off here (called inside Tensor.withoutGradients)"
        }
    }
}

/// Hooks that add a zero probe, a leaf that requires a gradient, to the activation at each
/// wanted site: the activation's value is unchanged and, after the backward pass, the probe's
/// gradient is the objective's gradient with respect to that activation.
///
/// `HookableModel.gradients(_:at:objective:)` runs one pass with these; use them directly to
/// read gradients of a pass someone else runs (an intervened forward, say): add them to its
/// hooks, call `backward()` on the objective, then `collect()`.
public final class GradientProbes: ActivationHooks {
    private let wanted: [TapPoint: [(Site, SiteSpec)]]
    private var probes: [Site: [(probe: Parameter, activation: Tensor, spec: SiteSpec)]] = [:]

    /// Probes at `sites` (any site of `table`); throws `SiteError` for a site the table lacks.
    public init(sites: [Site], table: SiteTable) throws {
        wanted = try table.tapPoints(for: sites)
    }

    public func isActive(_ point: TapPoint) -> Bool { wanted[point] != nil }

    public func visit(_ point: TapPoint, step: Int?, _ activation: inout Tensor) throws {
        // One probe per tap, shared by the views of that tap.
        let probe = Parameter(Tensor.zeros(activation.shape), trainable: true)
        let observed = activation.detached()
        activation = activation + probe.value
        for (site, spec) in wanted[point] ?? [] { probes[site, default: []].append((probe, observed, spec)) }
    }

    /// Gradients and activations per site, in each site's view; per-step sites stacked.
    public func collect() -> (gradients: [Site: Tensor], activations: [Site: Tensor]) {
        var gradients: [Site: Tensor] = [:], activations: [Site: Tensor] = [:]
        for (site, list) in probes {
            let g = list.map { SiteViews.view($0.probe.grad ?? Tensor.zeros($0.probe.shape), $0.spec.view) }
            let a = list.map { SiteViews.view($0.activation, $0.spec.view) }
            gradients[site] = g.count == 1 ? g[0] : Tensor.stack(g, axis: 0)
            activations[site] = a.count == 1 ? a[0] : Tensor.stack(a, axis: 0)
        }
        return (gradients, activations)
    }
}

extension HookableModel {
    /// Gradient hooks: runs `input` once forward and once backward and returns the gradient of
    /// the scalar `objective(output)` with respect to the activation at every site in `sites`
    /// (any site of the site table, TransformerLens names included), in the site's view. Hooks
    /// already in `options` (interventions, say) run first; frozen parameters get no gradient.
    public func gradients(_ input: ModelInput, at sites: [Site], options: ForwardOptions = ForwardOptions(),
                          objective: (ModelOutput) throws -> Tensor) throws -> SiteGradients {
        guard GradientMode.enabled else { throw GradientError.gradientsDisabled }
        let probes = try GradientProbes(sites: sites, table: siteTable)
        let output = try forward(input, options: options.addingHooks(probes))
        let value = try objective(output)
        guard value.count == 1 else { throw GradientError.objectiveNotScalar(shape: value.shape) }
        if value.requiresGrad { value.backward() }
        let (gradients, activations) = probes.collect()
        return SiteGradients(value: value.scalars[0], output: output, gradients: gradients, activations: activations)
    }
}
