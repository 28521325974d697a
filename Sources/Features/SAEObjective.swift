import Foundation
import Tensors

/// What one training batch measured (in the scaled units).
struct SAEBatchOutcome {
    /// The total loss.
    var loss: Float
    /// Σ_b ‖x_b − x̂_b‖² and Σ_b ‖x_b − x̄‖² (x̄ the batch mean).
    var squaredError = 0.0, variance = 0.0
    /// Non-zero latents over the batch.
    var active = 0
    /// BatchTopK: the smallest positive latent of the batch.
    var smallestKept: Float?
}

/// The training-time objective of a sparse autoencoder (see `SAETrainingOptions` for the
/// math). Shapes: x (B, d); pre, z (B, L); x̂ (B, d).
final class SAEObjective {
    let sae: SparseAutoencoder
    let options: SAETrainingOptions
    /// JumpReLU's log θ (L), trained; nil for the other activations.
    let logThreshold: Parameter?

    init(sae: SparseAutoencoder, options: SAETrainingOptions) {
        self.sae = sae
        self.options = options
        logThreshold = sae.activation == .jumpReLU
            ? Parameter(Tensor.full([sae.latents], Float(Foundation.log(Double(options.initialThreshold))))) : nil
    }

    /// The trained parameters.
    var parameters: [Parameter] {
        [sae.encoderWeight, sae.decoderWeight, sae.encoderBias, sae.decoderBias] + (logThreshold.map { [$0] } ?? [])
    }

    /// pre = (x − b_dec) W_enc + b_enc, computed as x W_enc + (b_enc − b_dec W_enc) so that no
    /// gradient with respect to x is formed.
    func preActivations(_ x: Tensor) -> Tensor {
        var bias = sae.encoderBias.value
        if options.subtractsDecoderBias { bias = bias - sae.decoderBias.value.matmul(sae.encoderWeight.value) }
        return x.linear(weight: sae.encoderWeight.value, bias: bias, layout: .inputMajor)
    }

    /// z = act(pre) with gradients (JumpReLU through its pseudo-derivatives).
    func latents(_ pre: Tensor) -> Tensor {
        switch sae.activation {
        case .relu: return pre.relu()
        case .topK(let k): return pre.topKReLU(k)
        case .batchTopK(let k): return pre.reshaped([1, pre.count]).topKReLU(k * pre.shape[0]).reshaped(pre.shape)
        case .jumpReLU: return pre.jumpReLU(threshold: logThreshold!.value.exp(), bandwidth: options.bandwidth)
        }
    }

    /// The loss of batch `x` at `step` (gradients recorded), with `dead` the dead latents' indices.
    func loss(_ x: Tensor, step: Int, dead: [Int]) -> (loss: Tensor, outcome: SAEBatchOutcome, latents: Tensor) {
        let rows = x.shape[0]
        let pre = preActivations(x)
        let z = latents(pre)
        let reconstruction = z.linear(weight: sae.decoderWeight.value, bias: sae.decoderBias.value, layout: .inputMajor)
        let error = reconstruction - x
        let squaredError = error.square().sum()
        var loss = squaredError * (1 / Float(rows))
        let lambda = options.sparsity(at: step)
        switch sae.activation {
        case .relu where lambda > 0:
            loss = loss + Tensor.decoderWeightedL1(latents: z, decoder: sae.decoderWeight.value) * (lambda / Float(rows))
        case .jumpReLU where lambda > 0:
            loss = loss + pre.heavisideStep(threshold: logThreshold!.value.exp(), bandwidth: options.bandwidth).sum() * (lambda / Float(rows))
        default: break
        }
        let variance = Tensor.withoutGradients { Double((x - x.mean(axis: 0)).square().sum().item) }
        if usesAuxK, let aux = auxiliaryLoss(pre, target: -error.detached(), dead: dead, variance: variance, rows: rows) {
            loss = loss + aux
        }
        var outcome = SAEBatchOutcome(loss: loss.item, squaredError: Double(squaredError.item), variance: variance)
        Tensor.withoutGradients {
            z.withUnsafeElements { values in
                var smallest = Float.infinity
                for v in values where v != 0 {
                    outcome.active += 1
                    if v < smallest { smallest = v }
                }
                if case .batchTopK = sae.activation, smallest.isFinite { outcome.smallestKept = smallest }
            }
        }
        return (loss, outcome, z.detached())
    }

    /// TopK and BatchTopK train their dead latents through AuxK.
    var usesAuxK: Bool {
        switch sae.activation {
        case .topK, .batchTopK: return true
        case .relu, .jumpReLU: return false
        }
    }

    /// α · ‖e − ê‖² / ‖e − ē‖² · (variance / B) for the residual e = x − x̂ (`target`, no
    /// gradient) and ê = TopK_aux(pre[:, dead]) W_dec[dead]; nil without dead latents or with α = 0.
    func auxiliaryLoss(_ pre: Tensor, target: Tensor, dead: [Int], variance: Double, rows: Int) -> Tensor? {
        guard options.auxKCoefficient > 0, !dead.isEmpty else { return nil }
        let k = Swift.min(options.auxK ?? Swift.max(sae.width / 2, 1), dead.count)
        let energy = Tensor.withoutGradients { Double((target - target.mean(axis: 0)).square().sum().item) }
        guard energy > 0 else { return nil }
        let zDead = pre.indexSelect(axis: 1, indices: dead).topKReLU(k)
        let estimate = zDead.matmul(sae.decoderWeight.value.indexSelect(axis: 0, indices: dead))
        let scale = Float(Double(options.auxKCoefficient) * variance / Double(rows) / energy)
        return (estimate - target).square().sum() * scale
    }
}

/// Which latents have fired recently: tokens since each latent last fired.
struct DeadLatentTracker {
    private(set) var tokensSinceFired: [Int]
    let deadAfter: Int
    private var fired: [Bool]

    init(latents: Int, deadAfter: Int) {
        tokensSinceFired = [Int](repeating: 0, count: latents)
        fired = [Bool](repeating: false, count: latents)
        self.deadAfter = deadAfter
    }

    /// Records a batch of latents z (B, L).
    mutating func record(_ z: Tensor) {
        let l = fired.count, rows = z.count / Swift.max(l, 1)
        for i in 0..<l { fired[i] = false }
        z.withUnsafeElements { values in
            for r in 0..<rows { for i in 0..<l where values[r * l + i] != 0 { fired[i] = true } }
        }
        for i in 0..<l { tokensSinceFired[i] = fired[i] ? 0 : tokensSinceFired[i] + rows }
    }

    /// Latents silent for at least `deadAfter` tokens.
    var dead: [Int] { tokensSinceFired.indices.filter { tokensSinceFired[$0] >= deadAfter } }

    /// The fraction of latents that are dead.
    var deadFraction: Double { Double(dead.count) / Double(Swift.max(tokensSinceFired.count, 1)) }
}

/// Keeping decoder rows at unit norm: the gradient's component along each row is removed before
/// the step, and rows are renormalised after it. W (L, d).
enum UnitNormRows {
    /// g_i ← g_i − (g_i · w_i) w_i / ‖w_i‖².
    static func removeParallelGradient(_ w: Parameter) {
        let d = w.shape[1]
        w.value.withUnsafeElements { wv in
            w.updateGradient { g in
                for i in 0..<(g.count / d) {
                    var dot: Float = 0, norm: Float = 0
                    for j in 0..<d { dot += g[i * d + j] * wv[i * d + j]; norm += wv[i * d + j] * wv[i * d + j] }
                    guard norm > 0 else { continue }
                    let c = dot / norm
                    for j in 0..<d { g[i * d + j] -= c * wv[i * d + j] }
                }
            }
        }
    }

    /// w_i ← w_i / ‖w_i‖ (zero rows stay zero).
    static func normalise(_ w: Parameter) {
        let d = w.shape[1]
        w.update { values in
            for i in 0..<(values.count / d) {
                var norm: Float = 0
                for j in 0..<d { norm += values[i * d + j] * values[i * d + j] }
                guard norm > 0 else { continue }
                let inverse = 1 / norm.squareRoot()
                for j in 0..<d { values[i * d + j] *= inverse }
            }
        }
    }
}
