import Tensors

/// Hooks that record activations at a set of sites during one forward pass (run-with-cache).
final class ActivationRecorder: ActivationHooks {
    private let wanted: [TapPoint: [(Site, SiteSpec)]]
    private var recorded: [Site: [Tensor]] = [:]

    init(sites: [Site], table: SiteTable) throws {
        var wanted: [TapPoint: [(Site, SiteSpec)]] = [:]
        for site in sites {
            let spec = try table.spec(for: site)
            wanted[TapPoint(layer: site.layer, tap: spec.tap), default: []].append((site, spec))
        }
        self.wanted = wanted
    }

    func isActive(_ point: TapPoint) -> Bool { wanted[point] != nil }

    func visit(_ point: TapPoint, step: Int?, _ activation: inout Tensor) throws {
        for (site, spec) in wanted[point] ?? [] {
            recorded[site, default: []].append(SiteViews.view(activation, spec.view).detached())
        }
    }

    /// One tensor per site; per-step activations stacked along a new leading axis.
    func activations() -> [Site: Tensor] {
        recorded.mapValues { $0.count == 1 ? $0[0] : Tensor.stack($0, axis: 0) }
    }
}

/// Converting between a tapped tensor and a component's view of it.
public enum SiteViews {
    /// The component's view of a tapped activation: thirds of the last dimension, or
    /// (B, S, H·d) → (B, H, S, d) for head views. Attention weights are already (B, H, Sq, Sk).
    public static func view(_ tensor: Tensor, _ view: SiteView) -> Tensor {
        switch view {
        case .whole:
            return tensor
        case .third(let k):
            let w = tensor.shape[tensor.rank - 1] / 3
            return tensor.narrowed(tensor.rank - 1, start: k * w, length: w)
        case .heads(let h):
            let s = tensor.shape
            return tensor.reshaped([s[0], s[1], h, s[2] / h]).permuted([0, 2, 1, 3])
        }
    }
}
