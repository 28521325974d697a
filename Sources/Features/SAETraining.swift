import Foundation
import Intervene
import Tensors

/// Trains a sparse autoencoder on activations streamed from an `ActivationSource` through a
/// bounded shuffle buffer, with Adam (the math is in `SAETrainingOptions`).
///
/// Start: the buffer is filled; from up to `initialisationSample` of its rows come the input
/// scale s (E‖s·x‖² = d) and b_dec, the geometric median of the scaled rows. Decoder rows are
/// seeded random directions (norm 1, or 0.1 for ReLU without the unit-norm constraint) and
/// W_enc = W_decᵀ, b_enc = 0. Each step draws a batch, takes an Adam step and tracks which
/// latents fired; the buffer is refilled when half empty. End: s is folded back
/// (b_enc, b_dec and θ divided by s), so the SAE reads the activations as they are.
public enum SAETraining {
    /// Trains on `source`. Throws `SAEError` for options out of range, `TrainingError.emptyDataset`
    /// when the source gives fewer rows than one batch, and `TrainingError.nonFiniteLoss` when
    /// the loss diverges.
    public static func train(source: any ActivationSource, options: SAETrainingOptions,
                             progress: ((SAETrainingProgress) -> Void)? = nil) throws -> (sae: SparseAutoencoder, metrics: SAETrainingMetrics) {
        try options.validate(width: source.width)
        let run = try SAETrainingRun(source: source, options: options)
        for step in 0..<options.steps {
            guard try run.step(step) else { break }
            progress?(run.progress)
        }
        return (try folded(run.sae, objective: run.objective, scale: run.scale, batchThreshold: run.batchThreshold.map { Float($0) }),
                run.metrics)
    }

    /// A fresh SAE: seeded random unit decoder directions (×0.1 for ReLU without the unit-norm
    /// constraint), W_enc = W_decᵀ, b_enc = 0, b_dec = the geometric median of `sample`.
    static func initialised(width d: Int, options: SAETrainingOptions, sample: Tensor) throws -> SparseAutoencoder {
        let sae = try SparseAutoencoder(width: d, latents: options.latents, activation: options.activation,
                                        subtractsDecoderBias: options.subtractsDecoderBias, seed: options.seed)
        let norm: Float = options.unitNormDecoder ? 1 : 0.1
        let directions = Tensor.withoutGradients {
            let w = Tensor.randomNormal([options.latents, d], seed: options.seed)
            return w / w.square().sum(axis: 1, keepDims: true).sqrt() * norm
        }
        sae.decoderWeight.assign(directions)
        sae.encoderWeight.assign(directions.transposed().contiguous())
        sae.encoderBias.assign(Tensor.zeros([options.latents]))
        sae.decoderBias.assign(GeometricMedian.of(sample))
        return sae
    }

    /// The trained SAE in the activations' units: b_enc, b_dec and θ divided by `scale`. A
    /// BatchTopK SAE becomes JumpReLU with every θᵢ = `batchThreshold` / scale.
    static func folded(_ sae: SparseAutoencoder, objective: SAEObjective, scale: Float, batchThreshold: Float?) throws -> SparseAutoencoder {
        var activation = sae.activation
        var threshold = Tensor.zeros([sae.latents])
        if case .batchTopK = activation {
            activation = .jumpReLU
            threshold = Tensor.full([sae.latents], (batchThreshold ?? 0) / scale)
        } else if let logThreshold = objective.logThreshold {
            threshold = Tensor.withoutGradients { logThreshold.value.exp() / scale }
        }
        let out = try SparseAutoencoder(width: sae.width, latents: sae.latents, activation: activation,
                                        subtractsDecoderBias: sae.subtractsDecoderBias)
        try out.loadState(["W_enc": sae.encoderWeight.value, "W_dec": sae.decoderWeight.value, "b_enc": sae.encoderBias.value / scale,
                           "b_dec": sae.decoderBias.value / scale, "threshold": threshold])
        return out
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }
}
