import Tensors

/// Running sums for `SAEEvaluation`, added to batch by batch, so that an evaluation streams.
public struct SAEStatistics: Sendable, Equatable {
    public let width: Int, latents: Int
    /// A latent is dense when it fires on more than this fraction of tokens.
    public let denseThreshold: Double
    /// Tokens added.
    public private(set) var tokens = 0
    /// Σ‖x − x̂‖², Σ‖x‖² and Σx (per dimension), Σ L0.
    public private(set) var squaredError = 0.0, squaredNorm = 0.0, sum: [Double], active = 0
    /// Tokens each latent fired on.
    public private(set) var firing: [Int]
    /// Σ of next-token cross-entropies (clean, spliced, zero-ablated) and the predictions counted.
    public private(set) var cleanLoss = 0.0, splicedLoss = 0.0, zeroLoss = 0.0, predictions = 0

    public init(width: Int, latents: Int, denseThreshold: Double = 0.1) {
        self.width = width
        self.latents = latents
        self.denseThreshold = denseThreshold
        sum = [Double](repeating: 0, count: width)
        firing = [Int](repeating: 0, count: latents)
    }

    /// Adds tokens: activations x (n, d), their reconstructions (n, d) and latents (n, L).
    public mutating func add(activations x: Tensor, reconstruction: Tensor, latents z: Tensor) {
        let d = width, l = latents, n = x.count / d
        precondition(reconstruction.count == x.count && z.count == n * l, "add: shapes \(x.shape), \(reconstruction.shape), \(z.shape) do not match")
        x.withUnsafeElements { xs in
            reconstruction.withUnsafeElements { rs in
                for t in 0..<n {
                    for j in 0..<d {
                        let v = Double(xs[t * d + j]), e = v - Double(rs[t * d + j])
                        squaredError += e * e
                        squaredNorm += v * v
                        sum[j] += v
                    }
                }
            }
        }
        z.withUnsafeElements { zs in
            for t in 0..<n { for i in 0..<l where zs[t * l + i] != 0 { firing[i] += 1; active += 1 } }
        }
        tokens += n
    }

    /// Adds summed cross-entropies over `count` predictions.
    public mutating func addLosses(clean: Double, spliced: Double, zero: Double, count: Int) {
        cleanLoss += clean
        splicedLoss += spliced
        zeroLoss += zero
        predictions += count
    }

    /// The measures so far.
    public var evaluation: SAEEvaluation {
        let n = Double(Swift.max(tokens, 1)), p = Double(Swift.max(predictions, 1))
        let total = squaredNorm - sum.map { $0 * $0 }.reduce(0, +) / n
        let (clean, spliced, zero) = (cleanLoss / p, splicedLoss / p, zeroLoss / p)
        return SAEEvaluation(varianceExplained: 1 - squaredError / Swift.max(total, .leastNonzeroMagnitude),
                             meanSquaredError: squaredError / (n * Double(width)), meanL0: Double(active) / n,
                             deadFraction: Double(firing.filter { $0 == 0 }.count) / Double(latents),
                             denseFraction: Double(firing.filter { Double($0) > denseThreshold * Double(tokens) }.count) / Double(latents),
                             lossRecovered: (zero - spliced) / (zero - clean), cleanLoss: clean, splicedLoss: spliced, zeroLoss: zero,
                             tokens: tokens)
    }
}
