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
        let d = source.width
        try options.validate(width: d)
        let clock = ContinuousClock(), start = clock.now
        var activationTime = Duration.zero
        let buffer = try ActivationShuffleBuffer(width: d, capacity: options.bufferRows, uses: options.rowUses, seed: options.seed &+ 1)
        func refill() throws {
            let t = clock.now
            try buffer.fill(from: source)
            activationTime += clock.now - t
        }
        try refill()
        guard buffer.count >= options.batchSize else {
            throw TrainingError.emptyDataset("activation (\(buffer.count) rows, fewer than one batch of \(options.batchSize))")
        }
        let sample = buffer.sample(options.initialisationSample)
        let meanSquare = Tensor.withoutGradients { Double(sample.square().sum().item) / Double(sample.shape[0]) }
        let scale = Float(meanSquare > 0 ? (Double(d) / meanSquare).squareRoot() : 1)
        let sae = try initialised(width: d, options: options, median: GeometricMedian.of(sample * scale))
        let objective = SAEObjective(sae: sae, options: options)
        let adam = Adam(objective.parameters, learningRate: options.learningRate)
        var tracker = DeadLatentTracker(latents: options.latents, deadAfter: options.deadAfterTokens)
        let window = Swift.max(1, options.steps / 10)
        var totals = (squaredError: 0.0, variance: 0.0, active: 0, rows: 0, steps: 0)
        var threshold: Double?, lastLoss = 0.0, stepsDone = 0
        for step in 0..<options.steps {
            if buffer.count < Swift.max(options.batchSize, buffer.capacity / 2) && !buffer.sourceEnded { try refill() }
            guard buffer.count >= options.batchSize else { break }
            let x = buffer.draw(options.batchSize) * scale
            adam.learningRateScale = options.learningRateMultiplier(step)
            adam.zeroGrad()
            let (loss, outcome, z) = objective.loss(x, step: step, dead: tracker.dead)
            guard outcome.loss.isFinite else { throw TrainingError.nonFiniteLoss(step: step, epoch: 0, value: outcome.loss) }
            loss.backward()
            if options.unitNormDecoder { UnitNormRows.removeParallelGradient(sae.decoderWeight) }
            if let maxNorm = options.maxGradientNorm { adam.clipGradientNorm(maxNorm) }
            adam.step()
            if options.unitNormDecoder { UnitNormRows.normalise(sae.decoderWeight) }
            tracker.record(z)
            if let kept = outcome.smallestKept { threshold = threshold.map { 0.99 * $0 + 0.01 * Double(kept) } ?? Double(kept) }
            if step >= options.steps - window {
                totals.squaredError += outcome.squaredError
                totals.variance += outcome.variance
                totals.active += outcome.active
                totals.rows += options.batchSize
                totals.steps += 1
            }
            lastLoss = Double(outcome.loss)
            stepsDone = step + 1
            progress?(SAETrainingProgress(step: step + 1, steps: options.steps, tokens: stepsDone * options.batchSize, loss: lastLoss,
                                          varianceExplained: 1 - outcome.squaredError / Swift.max(outcome.variance, .leastNonzeroMagnitude),
                                          meanL0: Double(outcome.active) / Double(options.batchSize), deadFraction: tracker.deadFraction,
                                          seconds: seconds(clock.now - start)))
        }
        let trained = try folded(sae, objective: objective, scale: scale, batchThreshold: threshold.map { Float($0) })
        let total = seconds(clock.now - start), reading = seconds(activationTime), tokens = stepsDone * options.batchSize
        let rows = Double(Swift.max(totals.rows, 1))
        let metrics = SAETrainingMetrics(
            architecture: options.activation.architectureName, width: d, latents: options.latents, k: options.activation.k,
            steps: stepsDone, tokens: tokens, batchSize: options.batchSize, rowsRead: buffer.rowsRead, rowUses: options.rowUses, seconds: total, activationSeconds: reading,
            saeSeconds: total - reading, tokensPerSecond: Double(tokens) / Swift.max(total, 1e-9),
            saeTokensPerSecond: Double(tokens) / Swift.max(total - reading, 1e-9),
            finalMSE: totals.squaredError / (rows * Double(d)) / Double(scale * scale),
            varianceExplained: 1 - totals.squaredError / Swift.max(totals.variance, .leastNonzeroMagnitude),
            meanL0: Double(totals.active) / rows, deadFraction: tracker.deadFraction, deadAfterTokens: options.deadAfterTokens,
            statisticsSteps: totals.steps, inputScale: Double(scale), finalLoss: lastLoss)
        return (trained, metrics)
    }

    /// A fresh SAE: seeded unit decoder directions (×0.1 for ReLU without the unit-norm
    /// constraint), W_enc = W_decᵀ, b_enc = 0, b_dec = `median`.
    static func initialised(width d: Int, options: SAETrainingOptions, median: Tensor) throws -> SparseAutoencoder {
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
        sae.decoderBias.assign(median)
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
