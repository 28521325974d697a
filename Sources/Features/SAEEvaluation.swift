import Foundation
import Intervene
import Models
import Tensors

/// The measures the field reports for a sparse autoencoder at a site, over token windows
/// (JSON keys in snake_case).
public struct SAEEvaluation: Codable, Equatable, Sendable {
    /// 1 − Σ‖x − x̂‖² / Σ‖x − x̄‖² over every token (x̂ the reconstruction, x̄ the mean activation).
    public var varianceExplained: Double
    /// Σ‖x − x̂‖² / (tokens · d).
    public var meanSquaredError: Double
    /// Mean number of active latents per token.
    public var meanL0: Double
    /// Fraction of latents active on no token.
    public var deadFraction: Double
    /// Fraction of latents active on more than 10% of tokens.
    public var denseFraction: Double
    /// (CE_zero − CE_spliced) / (CE_zero − CE_clean): next-token cross-entropy with the
    /// reconstruction spliced in at the evaluated positions, against the clean model and the
    /// site zero-ablated there. 1 is perfect.
    public var lossRecovered: Double
    /// The three cross-entropies (clean, spliced, zero-ablated), per predicted token.
    public var cleanLoss: Double, splicedLoss: Double, zeroLoss: Double
    /// Tokens evaluated.
    public var tokens: Int

    enum CodingKeys: String, CodingKey {
        case tokens
        case varianceExplained = "variance_explained", meanSquaredError = "mse", meanL0 = "mean_l0", deadFraction = "dead_fraction"
        case denseFraction = "dense_fraction", lossRecovered = "ce_loss_recovered", cleanLoss = "ce_clean", splicedLoss = "ce_spliced"
        case zeroLoss = "ce_zero_ablated"
    }

    /// Evaluates `sae` at `site` of `model` on `sequences` (token ids, each at least two long),
    /// one sequence per pass, every position counted.
    public static func evaluate(_ sae: SparseAutoencoder, model: any HookableModel, site: Site, sequences: [[Int]]) throws -> SAEEvaluation {
        guard !sequences.isEmpty, sequences.allSatisfy({ $0.count >= 2 }) else {
            throw SAEError.invalid(field: "sequences", value: "\(sequences.map(\.count))", allowed: "at least one sequence of two or more tokens")
        }
        return try evaluate(sae, model: model, site: site, windows: ArrayTokenWindows(sequences),
                            options: SAEEvaluationOptions(windowsPerPass: 1, positions: PositionSelection(skip: 0, sinkRatio: nil)))
    }

    /// Evaluates `sae` at `site` of `model` on windows streamed from `windows` (equal-length
    /// neighbours batched), until the stream ends or `options.maxTokens` tokens are counted.
    /// Each batch takes three passes: clean (reading the site), spliced (x replaced by
    /// decode(encode(x)) at the positions `options.positions` keeps: from `skip` on, attention
    /// sinks left out) and zero-ablated (x replaced by 0 there). The reconstruction figures cover
    /// the kept positions; cross-entropies count the predictions made from `skip` on.
    /// `progress` gets the tokens counted so far.
    public static func evaluate(_ sae: SparseAutoencoder, model: any HookableModel, site: Site, windows: any TokenWindowStream,
                                options: SAEEvaluationOptions = SAEEvaluationOptions(),
                                progress: ((Int) -> Void)? = nil) throws -> SAEEvaluation {
        try options.validate()
        let (site, spec) = try SiteActivationSource.resolve(site, in: model)
        guard spec.unitDimension == sae.width else {
            throw SAEError.invalid(field: "site", value: "\(site) of width \(spec.unitDimension)", allowed: "a site of width \(sae.width) (the SAE's d_in)")
        }
        let batches = try SiteActivationSource(model: model, site: site, windows: windows, windowsPerPass: options.windowsPerPass)
        var statistics = SAEStatistics(width: sae.width, latents: sae.latents, denseThreshold: options.denseThreshold)
        while statistics.tokens < options.maxTokens ?? .max, let batch = try batches.nextBatch() {
            guard batch[0].count > options.positions.skip + 1 else { continue }
            try Tensor.withoutGradients {
                try add(batch, to: &statistics, sae: sae, model: model, site: site, spec: spec, positions: options.positions)
            }
            progress?(statistics.tokens)
        }
        guard statistics.tokens > 0 else {
            throw SAEError.invalid(field: "windows", value: "none longer than \(options.positions.skip + 1) tokens",
                                   allowed: "at least one window of \(options.positions.skip + 2) or more tokens")
        }
        return statistics.evaluation
    }

    /// One batch of equal-length windows: statistics at the kept positions and the three losses.
    static func add(_ batch: [[Int]], to statistics: inout SAEStatistics, sae: SparseAutoencoder, model: any HookableModel,
                    site: Site, spec: SiteSpec, positions: PositionSelection) throws {
        let b = batch.count, s = batch[0].count, skip = positions.skip
        let input = ModelInput.tokens(IndexTensor(shape: [b, s], values: Array(batch.joined())))
        // Targets: the next token, predicted at positions skip..<s−1.
        var targets = [Int](repeating: -100, count: b * s)
        for (r, ids) in batch.enumerated() { for p in skip..<(s - 1) { targets[r * s + p] = ids[p + 1] } }
        let count = b * (s - 1 - skip)
        func loss(_ logits: Tensor) -> Double {
            Double(Tensor.crossEntropy(logits: logits.reshaped([b * s, logits.shape[2]]), targets: targets).item) * Double(count)
        }
        let capture = SiteCapture(site: site, spec: spec, stops: false)
        let clean = try model.forward(input, options: ForwardOptions(hooks: capture)).logits
        guard let x = capture.activation else { throw SAEError.invalid(field: "site", value: "\(site)", allowed: "a site the model's forward pass reaches") }
        let (z, mean, std) = sae.encode(x)
        let reconstruction = sae.decode(z, mean: mean, std: std)
        let keep = positions.kept(x)
        statistics.add(activations: PositionSelection.rows(x, keep: keep), reconstruction: PositionSelection.rows(reconstruction, keep: keep),
                       latents: PositionSelection.rows(z, keep: keep))
        // 1 at the kept positions, broadcast over the width.
        let mask = Tensor(shape: [b, s, 1], values: keep.map { $0 ? 1 : 0 })
        func replaced(_ replacement: Tensor) throws -> Tensor {
            let hooks = HookRegistry()
            hooks.add(layer: site.layer, tap: spec.tap) { a, _ in
                let view = SiteViews.view(a, spec.view)
                a = SiteViews.replacing(in: a, spec.view, with: view + mask * (replacement - view))
            }
            return try model.forward(input, options: ForwardOptions(hooks: hooks)).logits
        }
        statistics.addLosses(clean: loss(clean), spliced: loss(try replaced(reconstruction)), zero: loss(try replaced(x * 0)), count: count)
    }
}

/// How `SAEEvaluation.evaluate` reads its windows.
public struct SAEEvaluationOptions: Sendable, Equatable {
    /// Windows run as one batch.
    public var windowsPerPass: Int
    /// Stop once this many tokens are counted (nil: the whole stream).
    public var maxTokens: Int?
    /// The positions measured and spliced: from `skip` on (1 leaves out the first token),
    /// attention sinks left out.
    public var positions: PositionSelection
    /// A latent firing on more than this fraction of tokens is dense.
    public var denseThreshold: Double

    public init(windowsPerPass: Int = 4, maxTokens: Int? = nil, positions: PositionSelection = PositionSelection(), denseThreshold: Double = 0.1) {
        self.windowsPerPass = windowsPerPass
        self.maxTokens = maxTokens
        self.positions = positions
        self.denseThreshold = denseThreshold
    }

    /// Throws `SAEError` naming an option out of range.
    public func validate() throws {
        guard windowsPerPass >= 1 else { throw SAEError.invalid(field: "windowsPerPass", value: "\(windowsPerPass)", allowed: "an integer ≥ 1") }
        if let maxTokens, maxTokens < 1 { throw SAEError.invalid(field: "maxTokens", value: "\(maxTokens)", allowed: "an integer ≥ 1") }
        try positions.validate()
        guard (0...1).contains(denseThreshold) else {
            throw SAEError.invalid(field: "denseThreshold", value: "\(denseThreshold)", allowed: "a number in 0...1")
        }
    }
}
