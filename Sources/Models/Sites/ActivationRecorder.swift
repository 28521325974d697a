import Tensors

/// Hooks that record activations at a set of sites during one forward pass (run-with-cache).
final class ActivationRecorder: ActivationHooks {
    private let wanted: [TapPoint: [(Site, SiteSpec)]]
    private var recorded: [Site: [Tensor]] = [:]

    init(sites: [Site], table: SiteTable) throws {
        wanted = try table.tapPoints(for: sites)
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
    /// The component's view of a tapped activation: thirds of the last dimension,
    /// (B, S, H·d) → (B, H, S, d) for head views, (B, S, H·d) → (B, S, H, d) for TransformerLens
    /// head layouts, (B, H, S, X) → (B, S, H, X) for position-major views. Attention weights are
    /// already (B, H, Sq, Sk).
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
        case .positionHeads(let h):
            let s = tensor.shape
            return tensor.reshaped([s[0], s[1], h, s[2] / h])
        case .positionMajor:
            return tensor.permuted([0, 2, 1, 3])
        }
    }

    /// `tap` with the component's view of it replaced by `viewed` (the inverse of `view`): for a
    /// third of the last dimension the other two thirds are kept.
    public static func replacing(in tap: Tensor, _ view: SiteView, with viewed: Tensor) -> Tensor {
        switch view {
        case .whole:
            return viewed
        case .third(let k):
            var parts = tap.chunked(3, axis: tap.rank - 1)
            parts[k] = viewed
            return Tensor.concatenate(parts, axis: tap.rank - 1)
        case .heads:
            return viewed.permuted([0, 2, 1, 3]).contiguous().reshaped(tap.shape)
        case .positionHeads:
            return viewed.reshaped(tap.shape)
        case .positionMajor:
            return viewed.permuted([0, 2, 1, 3]).contiguous()
        }
    }
}
