import Foundation
import Intervene
import Tensors

/// The state of one `SAETraining.train` run: the buffer, the SAE and its optimiser, dead-latent
/// tracking, timing and the sums behind the metrics.
final class SAETrainingRun {
    let options: SAETrainingOptions
    let source: any ActivationSource
    let buffer: ActivationShuffleBuffer
    /// s with E‖s·x‖² = d over the initialisation sample.
    let scale: Float
    let sae: SparseAutoencoder
    let objective: SAEObjective
    let adam: Adam
    var tracker: DeadLatentTracker
    /// BatchTopK: the running mean of each batch's smallest kept activation.
    private(set) var batchThreshold: Double?
    private let clock = ContinuousClock()
    private let start: ContinuousClock.Instant
    private var readingTime = Duration.zero
    private var last = SAEBatchOutcome(loss: 0)
    private(set) var stepsDone = 0
    /// Sums over the last tenth of the steps.
    private var totals = (squaredError: 0.0, variance: 0.0, active: 0, rows: 0, steps: 0)

    /// Fills the buffer and initialises the SAE from a sample of it (see `SAETraining`).
    init(source: any ActivationSource, options: SAETrainingOptions) throws {
        let d = source.width
        self.options = options
        self.source = source
        start = clock.now
        buffer = try ActivationShuffleBuffer(width: d, capacity: options.bufferRows, uses: options.rowUses, seed: options.seed &+ 1)
        try buffer.fill(from: source)
        readingTime = clock.now - start
        guard buffer.count >= options.batchSize else {
            throw TrainingError.emptyDataset("activation (\(buffer.count) rows, fewer than one batch of \(options.batchSize))")
        }
        let sample = buffer.sample(options.initialisationSample)
        let meanSquare = Tensor.withoutGradients { Double(sample.square().sum().item) / Double(sample.shape[0]) }
        scale = Float(meanSquare > 0 ? (Double(d) / meanSquare).squareRoot() : 1)
        sae = try SAETraining.initialised(width: d, options: options, sample: sample * scale)
        objective = SAEObjective(sae: sae, options: options)
        adam = Adam(objective.parameters, learningRate: options.learningRate)
        tracker = DeadLatentTracker(latents: options.latents, deadAfter: options.deadAfterTokens)
    }

    /// One optimiser step on a fresh batch; false when the source has run dry.
    func step(_ step: Int) throws -> Bool {
        if buffer.count < Swift.max(options.batchSize, buffer.capacity / 2) && !buffer.sourceEnded {
            let t = clock.now
            try buffer.fill(from: source)
            readingTime += clock.now - t
        }
        guard buffer.count >= options.batchSize else { return false }
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
        if let kept = outcome.smallestKept { batchThreshold = batchThreshold.map { 0.99 * $0 + 0.01 * Double(kept) } ?? Double(kept) }
        if step >= options.steps - Swift.max(1, options.steps / 10) {
            totals.squaredError += outcome.squaredError
            totals.variance += outcome.variance
            totals.active += outcome.active
            totals.rows += options.batchSize
            totals.steps += 1
        }
        last = outcome
        stepsDone = step + 1
        return true
    }

    /// The last step's report.
    var progress: SAETrainingProgress {
        SAETrainingProgress(step: stepsDone, steps: options.steps, tokens: stepsDone * options.batchSize, loss: Double(last.loss),
                            varianceExplained: 1 - last.squaredError / Swift.max(last.variance, .leastNonzeroMagnitude),
                            meanL0: Double(last.active) / Double(options.batchSize), deadFraction: tracker.deadFraction,
                            seconds: SAETraining.seconds(clock.now - start))
    }

    /// The run's metrics so far.
    var metrics: SAETrainingMetrics {
        let total = SAETraining.seconds(clock.now - start), reading = SAETraining.seconds(readingTime)
        let tokens = stepsDone * options.batchSize, rows = Double(Swift.max(totals.rows, 1)), d = Double(buffer.width)
        return SAETrainingMetrics(
            architecture: options.activation.architectureName, width: buffer.width, latents: options.latents, k: options.activation.k,
            steps: stepsDone, tokens: tokens, batchSize: options.batchSize, rowsRead: buffer.rowsRead, rowUses: options.rowUses,
            seconds: total, activationSeconds: reading, saeSeconds: total - reading,
            tokensPerSecond: Double(tokens) / Swift.max(total, 1e-9), saeTokensPerSecond: Double(tokens) / Swift.max(total - reading, 1e-9),
            finalMSE: totals.squaredError / (rows * d) / Double(scale * scale),
            varianceExplained: 1 - totals.squaredError / Swift.max(totals.variance, .leastNonzeroMagnitude),
            meanL0: Double(totals.active) / rows, deadFraction: tracker.deadFraction, deadAfterTokens: options.deadAfterTokens,
            statisticsSteps: totals.steps, inputScale: Double(scale), finalLoss: Double(last.loss))
    }
}
