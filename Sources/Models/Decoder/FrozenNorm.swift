import Tensors

/// A decoder norm linearised as direct logit attribution does: its per-token normalisation
/// denominator σ is computed on one (clean) residual stream and then held constant, so the norm
/// becomes a linear map of the residual plus its bias:
///
///     rms norm     norm(x) ≈ F(x) = g ⊙ x / σ,             σ = √(mean(x²) + ε)
///     layer norm   norm(x) ≈ F(x) + b,  F(x) = g ⊙ (x − mean(x)) / σ,   σ = √(var(x) + ε)
///
/// g is the gain (w, or 1 + w for Gemma's norms; 1 without one). At the residual σ was read from,
/// F(x) + b is the norm's output exactly; F is linear, so the contributions of the parts a
/// residual is the sum of (embeddings, each head, each MLP) add up to F of the whole.
public struct FrozenNorm: Sendable {
    /// 1/σ per token of the residual (row-major over its leading axes).
    public let inverseScale: [Float]
    /// g (D), nil for a gain of one.
    public let gain: [Float]?
    /// b (D), nil for none.
    public let bias: [Float]?
    /// True for layer norms (the mean is subtracted).
    public let centers: Bool

    /// The frozen form of `norm` at `residual` (…, D).
    public init(_ norm: DecoderNorm, residual: Tensor) {
        let width = residual.shape[residual.rank - 1]
        let x = residual.contiguous().scalars
        let rows = x.count / Swift.max(width, 1)
        var centers = false
        let epsilon: Float
        switch norm.kind {
        case .layerNorm(let e), .nonParametricLayerNorm(let e): epsilon = e; centers = true
        case .rmsNorm(let e), .rmsNormPlusOne(let e): epsilon = e
        }
        inverseScale = (0..<rows).map { r in
            let row = x[(r * width)..<((r + 1) * width)]
            let mean = centers ? row.reduce(0.0) { $0 + Double($1) } / Double(width) : 0
            let power = row.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(width)
            return Float(1 / (power + Double(epsilon)).squareRoot())
        }
        switch norm.kind {
        case .rmsNormPlusOne: gain = norm.weight.map { $0.value.contiguous().scalars.map { 1 + $0 } }
        default: gain = norm.weight?.value.contiguous().scalars
        }
        bias = norm.bias?.value.contiguous().scalars
        self.centers = centers
    }

    /// The residual-space direction ũ with ⟨u, F(x)⟩ = ⟨ũ, x⟩ for every x at token `token`:
    /// ũ = (g ⊙ u) / σ, centred (its mean subtracted) for layer norms. `u` is (D).
    public func pullback(_ u: [Float], token: Int) -> [Float] {
        let s = inverseScale[token]
        var v = gain.map { g in zip(u, g).map { $0 * $1 * s } } ?? u.map { $0 * s }
        if centers {
            let mean = v.reduce(0, +) / Float(Swift.max(v.count, 1))
            v = v.map { $0 - mean }
        }
        return v
    }

    /// ⟨u, b⟩: the part of ⟨u, norm(x)⟩ no residual component carries (0 without a bias).
    public func biasTerm(_ u: [Float]) -> Float {
        bias.map { zip(u, $0).map { $0 * $1 }.reduce(0, +) } ?? 0
    }
}

extension DecoderModel {
    /// The final norm frozen at `residual` (B, S, D), the residual stream after the last block.
    public func frozenFinalNorm(at residual: Tensor) -> FrozenNorm {
        FrozenNorm(finalNorm, residual: residual)
    }

    /// True when every block adds its attention and MLP outputs to the residual stream through
    /// a norm of their own (Gemma 2's sandwich): per-head contributions then pass that norm too.
    public var hasPostSublayerNorms: Bool { config.residual == .sandwich }
}
