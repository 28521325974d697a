import Foundation
import Intervene
import Models
import Tensors

/// The measures the field reports for a sparse autoencoder at a site, over token sequences.
public struct SAEEvaluation: Equatable, Sendable {
    /// 1 − Σ‖x − x̂‖² / Σ‖x − x̄‖² over every token (x̂ the reconstruction, x̄ the mean activation).
    public var varianceExplained: Double
    /// Mean number of active latents per token.
    public var meanL0: Double
    /// Fraction of latents active on no token.
    public var deadFraction: Double
    /// Fraction of latents active on more than 10% of tokens.
    public var denseFraction: Double
    /// (CE_zero − CE_spliced) / (CE_zero − CE_clean): next-token cross-entropy with the
    /// reconstruction spliced in at every position, against the clean model and the site
    /// zero-ablated. 1 is perfect.
    public var lossRecovered: Double
    /// The three cross-entropies (clean, spliced, zero-ablated).
    public var cleanLoss: Double, splicedLoss: Double, zeroLoss: Double
    /// Tokens evaluated.
    public var tokens: Int

    /// Evaluates `sae` at `site` of `model` on `sequences` (token ids, each at least two long).
    public static func evaluate(_ sae: SparseAutoencoder, model: any HookableModel, site: Site, sequences: [[Int]]) throws -> SAEEvaluation {
        let site = try model.siteTable.resolved(site)
        let spec = try model.siteTable.spec(for: site)
        guard spec.unitDimension == sae.width else {
            throw SAEError.invalid(field: "site", value: "\(site) of width \(spec.unitDimension)", allowed: "a site of width \(sae.width) (the SAE's d_in)")
        }
        guard !sequences.isEmpty, sequences.allSatisfy({ $0.count >= 2 }) else {
            throw SAEError.invalid(field: "sequences", value: "\(sequences.map(\.count))", allowed: "at least one sequence of two or more tokens")
        }
        var residual = 0.0, sum = [Double](repeating: 0, count: sae.width), squares = 0.0, tokens = 0
        var l0 = 0.0, counts = [Int](repeating: 0, count: sae.latents)
        var losses = (clean: 0.0, spliced: 0.0, zero: 0.0), predicted = 0
        for ids in sequences {
            let input = ModelInput.tokens(IndexTensor(shape: [1, ids.count], values: ids))
            let targets = Array(ids.dropFirst()) + [-100]
            func loss(_ replace: ((Tensor) -> Tensor)?) throws -> Double {
                var options = ForwardOptions()
                if let replace {
                    let hooks = HookRegistry()
                    hooks.add(layer: site.layer, tap: spec.tap) { a, _ in a = SiteViews.replacing(in: a, spec.view, with: replace(SiteViews.view(a, spec.view))) }
                    options.hooks = hooks
                }
                let logits = try model.forward(input, options: options).logits
                return Double(Tensor.crossEntropy(logits: logits.reshaped([ids.count, logits.shape[2]]), targets: targets).item)
            }
            try Tensor.withoutGradients {
                let x = try model.runWithCache(input, sites: [site]).cache[site]!.reshaped([ids.count, sae.width])
                let (z, mean, std) = sae.encode(x)
                let reconstruction = sae.decode(z, mean: mean, std: std)
                residual += Double((x - reconstruction).square().sum().item)
                let xs = x.scalars, zs = z.scalars
                for t in 0..<ids.count {
                    for j in 0..<sae.width { let v = Double(xs[t * sae.width + j]); sum[j] += v; squares += v * v }
                    for i in 0..<sae.latents where zs[t * sae.latents + i] != 0 { counts[i] += 1; l0 += 1 }
                }
                tokens += ids.count
                let n = Double(ids.count - 1)
                losses.clean += n * (try loss(nil))
                losses.spliced += n * (try loss { a in let (z, m, s) = sae.encode(a); return sae.decode(z, mean: m, std: s) })
                losses.zero += n * (try loss { $0 * 0 })
                predicted += ids.count - 1
            }
        }
        let total = squares - sum.map { $0 * $0 }.reduce(0, +) / Double(tokens)
        let (clean, spliced, zero) = (losses.clean / Double(predicted), losses.spliced / Double(predicted), losses.zero / Double(predicted))
        return SAEEvaluation(varianceExplained: 1 - residual / Swift.max(total, .leastNonzeroMagnitude), meanL0: l0 / Double(tokens),
                             deadFraction: Double(counts.filter { $0 == 0 }.count) / Double(sae.latents),
                             denseFraction: Double(counts.filter { Double($0) > 0.1 * Double(tokens) }.count) / Double(sae.latents),
                             lossRecovered: (zero - spliced) / (zero - clean), cleanLoss: clean, splicedLoss: spliced, zeroLoss: zero,
                             tokens: tokens)
    }
}
