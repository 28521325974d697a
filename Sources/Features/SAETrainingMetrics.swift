import Foundation

/// What a training run did and how well the SAE reconstructs its training batches, written as
/// JSON (snake_case keys). Reconstruction figures are over the last `statistics_steps` steps.
public struct SAETrainingMetrics: Codable, Equatable, Sendable {
    /// "relu", "topk", "batchtopk" or "jumprelu" (what was trained; BatchTopK is saved as JumpReLU).
    public var architecture: String
    /// d, L and (TopK, BatchTopK) k.
    public var width: Int, latents: Int, k: Int?
    /// Optimiser steps taken and rows (tokens) trained on.
    public var steps: Int, tokens: Int, batchSize: Int
    /// Rows read from the source (distinct tokens) and the times each is trained on.
    public var rowsRead: Int, rowUses: Int
    /// Wall-clock seconds in all, reading activations (e.g. the model's forward passes) and in
    /// SAE steps.
    public var seconds: Double, activationSeconds: Double, saeSeconds: Double
    /// tokens / seconds, and tokens / saeSeconds (the SAE alone).
    public var tokensPerSecond: Double, saeTokensPerSecond: Double
    /// Mean squared error per element, in the activations' units.
    public var finalMSE: Double
    /// 1 − Σ‖x − x̂‖² / Σ‖x − x̄_batch‖².
    public var varianceExplained: Double
    /// Mean active latents per token.
    public var meanL0: Double
    /// Latents that did not fire in the last `dead_after_tokens` training tokens, as a fraction.
    public var deadFraction: Double
    public var deadAfterTokens: Int
    /// The steps the reconstruction figures cover.
    public var statisticsSteps: Int
    /// s with E‖s·x‖² = d, folded into the saved SAE.
    public var inputScale: Double
    /// The last step's total loss (scaled units).
    public var finalLoss: Double

    enum CodingKeys: String, CodingKey {
        case architecture, width, latents, k, steps, tokens, seconds
        case batchSize = "batch_size", rowsRead = "rows_read", rowUses = "row_uses", activationSeconds = "activation_seconds", saeSeconds = "sae_seconds"
        case tokensPerSecond = "tokens_per_second", saeTokensPerSecond = "sae_tokens_per_second", finalMSE = "final_mse"
        case varianceExplained = "variance_explained", meanL0 = "mean_l0", deadFraction = "dead_fraction"
        case deadAfterTokens = "dead_after_tokens", statisticsSteps = "statistics_steps", inputScale = "input_scale"
        case finalLoss = "final_loss"
    }

    /// Pretty-printed JSON with sorted keys.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    /// Writes `jsonData()` to `path`.
    public func write(to path: String) throws {
        try jsonData().write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}

/// One step's report to a progress callback.
public struct SAETrainingProgress: Sendable {
    /// Steps done (1-based) of `steps`.
    public var step: Int, steps: Int
    /// Rows trained on so far.
    public var tokens: Int
    /// This step's loss, its batch's variance explained and mean L0.
    public var loss: Double, varianceExplained: Double, meanL0: Double
    /// Dead latents as a fraction.
    public var deadFraction: Double
    /// Seconds since training started.
    public var seconds: Double
}

extension SAEActivation {
    /// The architecture's name in metrics and on the command line.
    public var architectureName: String {
        switch self {
        case .relu: return "relu"
        case .topK: return "topk"
        case .batchTopK: return "batchtopk"
        case .jumpReLU: return "jumprelu"
        }
    }

    /// k for TopK and BatchTopK.
    public var k: Int? {
        switch self {
        case .topK(let k), .batchTopK(let k): return k
        case .relu, .jumpReLU: return nil
        }
    }
}
