import Tensors

/// How a sparse autoencoder is trained. Inputs are scaled by one factor s so that
/// E‖s·x‖² = d (the scale is folded back into the biases and threshold of the saved SAE, whose
/// latents are then in the activations' units), and every loss term is a mean over the batch:
///
///     L = ‖x − x̂‖² + λ_t · S(z) + α · L_aux
///
/// - ReLU: S = Σᵢ zᵢ ‖W_dec[i]‖ (L1 weighted by decoder row norms; Anthropic, April 2024).
/// - TopK / BatchTopK: no S; L_aux reconstructs the residual e = x − x̂ from the `auxK` largest
///   pre-activations of the dead latents, ê = TopK_aux(pre_dead) W_dec[dead], as the normalised
///   error ‖e − ê‖² / ‖e − ē‖² times the batch's variance per token (Gao et al., 2024).
/// - JumpReLU: S = Σᵢ H(preᵢ − θᵢ) (L0), θ = exp(log θ) trained through the rectangle-kernel
///   pseudo-derivatives of bandwidth ε (Rajamanoharan et al., 2024).
///
/// λ_t rises linearly from 0 over the first `sparsityWarmupFraction` of the steps; the learning
/// rate rises linearly over `warmupSteps` and falls linearly to 0 over the last `decayFraction`.
public struct SAETrainingOptions: Sendable, Equatable {
    /// The activation trained. A BatchTopK SAE is saved as JumpReLU with one global threshold
    /// (the running mean of each batch's smallest kept activation), as BatchTopK SAEs run at
    /// inference.
    public var activation: SAEActivation
    /// The number of latents L.
    public var latents: Int
    /// Optimiser steps.
    public var steps: Int
    /// Rows (tokens) per step.
    public var batchSize = 4096
    /// Adam's learning rate (β = 0.9, 0.999).
    public var learningRate: Float
    /// Steps of linear learning-rate warm-up.
    public var warmupSteps: Int
    /// The final fraction of steps over which the learning rate decays linearly to 0.
    public var decayFraction: Double = 0.2
    /// λ: the L1 coefficient (ReLU) or L0 coefficient (JumpReLU); unused by TopK.
    public var sparsityCoefficient: Float
    /// The fraction of steps over which λ warms up from 0.
    public var sparsityWarmupFraction: Double = 0.05
    /// α, the AuxK coefficient (TopK and BatchTopK); 0 turns AuxK off.
    public var auxKCoefficient: Float = 1.0 / 32
    /// How many dead latents reconstruct the residual (nil: d/2).
    public var auxK: Int?
    /// A latent is dead when it has not fired in this many training tokens.
    public var deadAfterTokens = 1_000_000
    /// Keep decoder rows at unit norm: the gradient's component along each row is removed
    /// before the step and rows are renormalised after it (default: all but ReLU, whose
    /// penalty is weighted by the norms instead).
    public var unitNormDecoder: Bool
    /// Subtract b_dec from the input before encoding (SAELens' `apply_b_dec_to_input`).
    public var subtractsDecoderBias = true
    /// JumpReLU's kernel bandwidth ε, in the scaled units (where a latent's pre-activation is
    /// of order 1).
    public var bandwidth: Float = 0.1
    /// JumpReLU's initial threshold, in the scaled units.
    public var initialThreshold: Float = 0.5
    /// Rows of the first buffer fill used for the scale and the geometric median of b_dec.
    public var initialisationSample = 8192
    /// Rows the shuffle buffer holds (refilled from the source when half empty).
    public var bufferRows = 131_072
    /// Times each activation row is trained on (1: once); more trades fresh data for steps
    /// when reading activations costs more than a step.
    public var rowUses = 1
    /// Clip the global gradient norm to this (nil: no clipping).
    public var maxGradientNorm: Float?
    /// Seeds the weights and the buffer's shuffling.
    public var seed: UInt64 = 0

    /// Options with the usual defaults for `activation`.
    public init(activation: SAEActivation, latents: Int, steps: Int) {
        self.activation = activation
        self.latents = latents
        self.steps = steps
        switch activation {
        case .relu: learningRate = 5e-4; sparsityCoefficient = 5; unitNormDecoder = false
        case .topK, .batchTopK: learningRate = 1e-3; sparsityCoefficient = 0; unitNormDecoder = true
        case .jumpReLU: learningRate = 1e-3; sparsityCoefficient = 0.3; unitNormDecoder = true
        }
        warmupSteps = Swift.min(100, Swift.max(steps / 20, 1))
    }

    /// Throws `SAEError` naming the first option out of range for activations of `width`.
    public func validate(width: Int) throws {
        func require(_ ok: Bool, _ field: String, _ value: Any, _ allowed: String) throws {
            guard ok else { throw SAEError.invalid(field: field, value: "\(value)", allowed: allowed) }
        }
        try require(width >= 1, "width", width, "an integer ≥ 1")
        try require(latents >= 1, "latents", latents, "an integer ≥ 1")
        switch activation {
        case .topK(let k), .batchTopK(let k): try require((1...latents).contains(k), "k", k, "1...\(latents) (the latents)")
        case .relu, .jumpReLU: break
        }
        try require(steps >= 1, "steps", steps, "an integer ≥ 1")
        try require(batchSize >= 1, "batch", batchSize, "an integer ≥ 1")
        try require(learningRate.isFinite && learningRate > 0, "lr", learningRate, "a finite number > 0")
        try require(warmupSteps >= 0, "warmupSteps", warmupSteps, "an integer ≥ 0")
        try require((0...1).contains(decayFraction), "decayFraction", decayFraction, "a number in 0...1")
        try require(sparsityCoefficient.isFinite && sparsityCoefficient >= 0, "l1", sparsityCoefficient, "a finite number ≥ 0")
        try require((0...1).contains(sparsityWarmupFraction), "sparsityWarmupFraction", sparsityWarmupFraction, "a number in 0...1")
        try require(auxKCoefficient.isFinite && auxKCoefficient >= 0, "auxKCoefficient", auxKCoefficient, "a finite number ≥ 0")
        if let auxK { try require(auxK >= 1, "auxK", auxK, "an integer ≥ 1") }
        try require(deadAfterTokens >= 1, "deadAfterTokens", deadAfterTokens, "an integer ≥ 1 (tokens)")
        try require(bandwidth.isFinite && bandwidth > 0, "bandwidth", bandwidth, "a finite number > 0")
        try require(initialThreshold.isFinite && initialThreshold > 0, "initialThreshold", initialThreshold, "a finite number > 0")
        try require(initialisationSample >= 1, "initialisationSample", initialisationSample, "an integer ≥ 1")
        try require(bufferRows >= batchSize, "buffer", bufferRows, "at least the batch size (\(batchSize) rows)")
        try require(rowUses >= 1, "reuse", rowUses, "an integer ≥ 1")
        if let maxGradientNorm { try require(maxGradientNorm.isFinite && maxGradientNorm > 0, "maxGradientNorm", maxGradientNorm, "a finite number > 0") }
    }

    /// The learning-rate multiplier at `step`: linear warm-up, constant, linear decay to 0.
    func learningRateMultiplier(_ step: Int) -> Float {
        let warm = warmupSteps > 0 ? Swift.min(1, Float(step + 1) / Float(warmupSteps)) : 1
        let decaySteps = Int((Double(steps) * decayFraction).rounded())
        let decayStart = steps - decaySteps
        let decay = step < decayStart || decaySteps == 0 ? 1 : Float(steps - step) / Float(decaySteps)
        return warm * decay
    }

    /// λ_t at `step`.
    func sparsity(at step: Int) -> Float {
        let warm = Int((Double(steps) * sparsityWarmupFraction).rounded())
        return warm > 0 ? sparsityCoefficient * Swift.min(1, Float(step + 1) / Float(warm)) : sparsityCoefficient
    }
}
