import Models
import Tensors

/// Direct logit attribution at the last position: how much of the metric each component writes
/// straight into the residual stream, read through the final norm with its scale frozen on the
/// clean run (`FrozenNorm`).
///
/// With n the final norm's output at the last position and u = ∂m/∂n (for a logit difference
/// u = W_U[target] − W_U[distractor], exactly), ũ = F*(u) the frozen norm's pullback, and the
/// residual after the last block written as the sum of its parts,
///
///     x_L = embeddings + Σ_l ( Σ_h head(l, h) + attention bias(l) + mlp(l) )      (D)
///     DLA(c) = ⟨ũ, c⟩                         for each part c
///     Σ_c DLA(c) + ⟨u, b⟩ = ⟨u, n⟩            (= m for a logit metric without soft-capping)
///
/// where b is the final norm's bias (layer norms). `head(l, h) = z_h W_O[h]` (head_result); the
/// attention bias is what the attention sub-block adds beyond its heads (the output bias, and in
/// sandwich-normed models the post-attention norm's departure from linearity). A latent at a
/// site on the residual stream writes z_i d_i there: DLA = z_i ⟨ũ, d_i⟩, read as the gradient of
/// ⟨ũ, x_site⟩ times z_i (not part of the sum — latents re-express a site the parts already cover).
public struct DirectLogitAttribution: Sendable {
    /// One part of the residual stream and its direct effect.
    public struct Part: Sendable, Equatable {
        /// "embed", "head", "attn_bias", "mlp" or "latent".
        public let kind: String
        public let layer: Int
        /// The head or latent index (-1 for embed, attn_bias and mlp).
        public let index: Int
        /// ⟨ũ, part⟩.
        public let value: Double
        /// The intervention key of a latent.
        public let key: String?

        public init(kind: String, layer: Int, index: Int, value: Double, key: String? = nil) {
            self.kind = kind
            self.layer = layer
            self.index = index
            self.value = value
            self.key = key
        }
    }

    /// Embeddings, then per layer its heads, its attention bias and its MLP.
    public let parts: [Part]
    /// Latents of interventions at residual-stream sites (empty without them).
    public let latents: [Part]
    /// ⟨u, b⟩ (0 for norms without a bias).
    public let biasTerm: Double
    /// ⟨u, n⟩: the metric's linear readout of the final norm's output.
    public let readout: Double

    /// Σ DLA over the parts.
    public var total: Double { parts.map(\.value).reduce(0, +) }

    /// The sites whose activations the parts are read from.
    static func sites(layers: Int) -> [Site] {
        [Site(layer: 0, component: .blockInput), Site(layer: layers - 1, component: .blockOutput),
         Site(layer: layers - 1, component: .finalNormOutput)]
            + (0..<layers).flatMap { [Site(layer: $0, component: .headResult), Site(layer: $0, component: .tlAttentionOut), Site(layer: $0, component: .tlMLPOut)] }
    }

    /// The parts at the last position from a base pass's activations and gradients at `sites(layers:)`.
    /// Returns them with the pullback ũ (D) that latents are read with.
    static func compute(model: DecoderModel, activations: [Site: Tensor], gradients: [Site: Tensor]) -> (attribution: DirectLogitAttribution, pullback: [Float]) {
        let layers = model.siteTable.layers
        let final = activations[Site(layer: layers - 1, component: .blockOutput)]!
        let length = final.shape[1]
        func last(_ t: Tensor) -> Tensor { t.narrowed(1, start: length - 1, length: 1) }  // (1, 1, D) or per head (1, H, 1, D)
        let normSite = Site(layer: layers - 1, component: .finalNormOutput)
        let u = last(gradients[normSite]!).contiguous().scalars
        let frozen = model.frozenFinalNorm(at: final)
        let pulled = frozen.pullback(u, token: length - 1)
        let direction = Tensor(pulled)
        func dla(_ part: Tensor) -> Double { Double((part.reshaped([-1]) * direction).sum().item) }
        var parts = [Part(kind: "embed", layer: 0, index: -1, value: dla(last(activations[Site(layer: 0, component: .blockInput)]!)))]
        for l in 0..<layers {
            let heads = activations[Site(layer: l, component: .headResult)]!.narrowed(2, start: length - 1, length: 1)  // (1, H, 1, D)
            let count = heads.shape[1]
            let perHead = (heads.reshaped([count, -1]) * direction).sum(axis: 1).scalars
            parts += perHead.enumerated().map { Part(kind: "head", layer: l, index: $0.offset, value: Double($0.element)) }
            let attention = last(activations[Site(layer: l, component: .tlAttentionOut)]!).reshaped([-1])
            let remainder = attention - heads.reshaped([count, -1]).sum(axis: 0)
            parts.append(Part(kind: "attn_bias", layer: l, index: -1, value: dla(remainder)))
            parts.append(Part(kind: "mlp", layer: l, index: -1, value: dla(last(activations[Site(layer: l, component: .tlMLPOut)]!))))
        }
        let normed = last(activations[normSite]!).contiguous().scalars
        let readout = zip(u, normed).map { Double($0) * Double($1) }.reduce(0, +)
        return (DirectLogitAttribution(parts: parts, latents: [], biasTerm: Double(frozen.biasTerm(u)), readout: readout), pulled)
    }

    /// The same with `latents` added.
    func adding(latents: [Part]) -> DirectLogitAttribution {
        DirectLogitAttribution(parts: parts, latents: self.latents + latents, biasTerm: biasTerm, readout: readout)
    }

    /// Components whose activation is added to the residual stream as is, so that a latent's
    /// decoder direction there is read by ũ directly.
    static func isResidualSite(_ component: Component, model: DecoderModel) -> Bool {
        let always: [Component] = [.blockInput, .blockOutput, .residualMiddle, .tlAttentionOut, .tlMLPOut]
        return always.contains(component) || (!model.hasPostSublayerNorms && [.attentionOutput, .mlpOutput].contains(component))
    }
}
