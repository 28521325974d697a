import Foundation
import Intervene
import Models
import Tensors

/// One attributed node: an MLP neuron, an attention head or an intervention's latent at one
/// position.
public struct AttributedNode: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case neuron, head, latent
    }

    public let kind: Kind
    public let layer: Int
    /// The neuron, head or latent index.
    public let index: Int
    public let position: Int
    public let attribution: Double
    /// The intervention key of a latent.
    public let key: String?
}

/// The latents of one intervention (an SAE's, say) and their attributions.
public struct LatentAttribution: Sendable {
    /// The intervention key and where it sits.
    public let key: String
    public let site: Site
    /// Attribution per position and latent (S, L).
    public let values: Tensor
}

/// Activation × gradient for every MLP neuron (what the output projection reads, mlp.hook_post),
/// every attention head (its attn.hook_z slice, before the output projection, summed over the
/// head's dimensions) and every latent an intervenable model's interventions expose, at every
/// position, for a metric m — with direct logit attribution beside it.
///
///     without a source:  attr(node) = ⟨a(node), ∂m/∂a(node)⟩ at the base   (the first-order effect of zeroing it)
///     with a source:     attr(node) = ⟨a_src(node) − a(node), ḡ(node)⟩      (the effect of patching it)
///
/// where ḡ is the gradient at the base (`.linear`) or its average along the input path of
/// integrated gradients (`.integratedGradients(steps:path: .input)`; see `AttributionMethod`).
public struct NodeAttribution {
    public let method: AttributionMethod
    /// The metric on the base.
    public let metric: Double
    /// Per layer, attribution per position and neuron (S, I).
    public let neurons: [Tensor]
    /// Per layer, attribution per position and head (S, H).
    public let heads: [Tensor]
    /// Per intervention that exposes latents.
    public let latents: [LatentAttribution]
    /// Direct logit attribution (decoder models only).
    public let directLogitAttribution: DirectLogitAttribution?
    /// Wall-clock seconds of the whole computation.
    public let seconds: Double

    /// The `count` nodes of largest |attribution|, largest first.
    public func top(_ count: Int) -> [AttributedNode] {
        var candidates: [AttributedNode] = []
        func collect(_ kind: AttributedNode.Kind, _ layer: Int, _ grid: Tensor, key: String? = nil) {
            let width = grid.shape[1], values = grid.contiguous().scalars
            let order = values.map { Swift.abs($0) }.withUnsafeBufferPointer { Tensor.largestIndices($0, k: Swift.min(count, values.count)) }
            candidates += order.map { AttributedNode(kind: kind, layer: layer, index: $0 % width, position: $0 / width, attribution: Double(values[$0]), key: key) }
        }
        for (l, grid) in neurons.enumerated() { collect(.neuron, l, grid) }
        for (l, grid) in heads.enumerated() { collect(.head, l, grid) }
        for latent in latents { collect(.latent, latent.site.layer, latent.values, key: latent.key) }
        return Array(candidates.sorted { Swift.abs($0.attribution) > Swift.abs($1.attribution) }.prefix(count))
    }

    /// Attributes `metric` on `base` (token ids) to every node of `model`; with `source` (as many
    /// tokens), to patching each node from the source. `latents`, an intervenable model over
    /// `model`, adds the "latents" side outputs of its interventions (applied at every position
    /// of the whole activation; with the reconstruction error kept the forward is unchanged).
    public static func run(model: any HookableModel, base: [Int], source: [Int]? = nil, metric: AttributionMetric,
                           method: AttributionMethod = .linear, latents intervenable: IntervenableModel? = nil,
                           progress: ((Int, Int) -> Void)? = nil) throws -> NodeAttribution {
        try NodeAttributionRun(model: model, base: base, source: source, metric: metric, method: method, intervenable: intervenable,
                               progress: progress).run()
    }
}
