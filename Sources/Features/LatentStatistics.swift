/// One of a latent's top activating contexts.
public struct LatentContext: Equatable, Sendable {
    /// The activation z_i at the token.
    public var activation: Float
    /// The window of the corpus (0-based, in reading order) and the token's position in it.
    public var window: Int, position: Int
    /// Token ids of positions position − c … position + c of the window (2c + 1 entries; −1
    /// where the range leaves the window). The activating token is the middle entry.
    public var tokens: [Int]

    public init(activation: Float, window: Int, position: Int, tokens: [Int]) {
        self.activation = activation
        self.window = window
        self.position = position
        self.tokens = tokens
    }
}

/// A latent's activation histogram over the tokens where it fires (z > 0): `counts[j]` tokens
/// had j·binWidth ≤ z < (j + 1)·binWidth. binWidth is the smallest power of two 2^e ≥ 2⁻²⁰
/// with max z < bins · 2^e, so the bins cover between half and all of the positive range (a
/// latent that never fires has binWidth 2⁻²⁰ and zero counts).
public struct LatentHistogram: Equatable, Sendable {
    public var binWidth: Float
    public var counts: [Int]

    public init(binWidth: Float, counts: [Int]) {
        self.binWidth = binWidth
        self.counts = counts
    }
}

/// Per-latent statistics of a sparse autoencoder over a corpus (L latents, K top contexts of
/// 2c + 1 tokens, B histogram bins), in flat row-major arrays (latent-major) so that 10⁴–10⁵
/// latents cost no per-latent allocation. Read one latent with `contexts(of:)` and
/// `histogram(of:)`.
public struct LatentStatistics: Equatable, Sendable {
    /// L, K, c and B.
    public let latents: Int, topCount: Int, contextRadius: Int, bins: Int
    /// Tokens whose latents were counted.
    public var tokens: Int
    /// Per latent: tokens with z > 0.
    public var firing: [Int]
    /// Per latent: the largest activation (0 when it never fires).
    public var maximum: [Float]
    /// Per latent: the mean of its positive activations (0 when it never fires).
    public var meanActivation: [Float]
    /// Per latent: how many of its K context slots are filled (min(K, firing)).
    public var contextCounts: [Int]
    /// (L, K): the activations of the top contexts, largest first (ties: earlier token first);
    /// unfilled slots 0.
    public var contextActivations: [Float]
    /// (L, K): window index and position of each top context (−1 when unfilled).
    public var contextWindows: [Int], contextPositions: [Int]
    /// (L, K, 2c + 1): token ids around each top context (−1 outside the window or unfilled).
    public var contextTokens: [Int32]
    /// (L, B): histogram counts; (L): bin widths.
    public var histogramCounts: [Int]
    public var binWidths: [Float]

    /// Tokens in one context.
    public var contextWidth: Int { 2 * contextRadius + 1 }

    /// Empty statistics.
    public init(latents: Int, topCount: Int, contextRadius: Int, bins: Int) {
        self.latents = latents
        self.topCount = topCount
        self.contextRadius = contextRadius
        self.bins = bins
        tokens = 0
        firing = Array(repeating: 0, count: latents)
        maximum = Array(repeating: 0, count: latents)
        meanActivation = Array(repeating: 0, count: latents)
        contextCounts = Array(repeating: 0, count: latents)
        contextActivations = Array(repeating: 0, count: latents * topCount)
        contextWindows = Array(repeating: -1, count: latents * topCount)
        contextPositions = Array(repeating: -1, count: latents * topCount)
        contextTokens = Array(repeating: -1, count: latents * topCount * (2 * contextRadius + 1))
        histogramCounts = Array(repeating: 0, count: latents * bins)
        binWidths = Array(repeating: LatentHistogram.smallestBinWidth, count: latents)
    }

    /// The top contexts of latent `i`, largest activation first.
    public func contexts(of i: Int) -> [LatentContext] {
        let w = contextWidth
        return (0..<contextCounts[i]).map { s in
            let slot = i * topCount + s
            return LatentContext(activation: contextActivations[slot], window: contextWindows[slot], position: contextPositions[slot],
                                 tokens: contextTokens[(slot * w)..<((slot + 1) * w)].map { Int($0) })
        }
    }

    /// The histogram of latent `i`.
    public func histogram(of i: Int) -> LatentHistogram {
        LatentHistogram(binWidth: binWidths[i], counts: Array(histogramCounts[(i * bins)..<((i + 1) * bins)]))
    }

    /// Fraction of counted tokens on which latent `i` fires.
    public func frequency(of i: Int) -> Double { tokens > 0 ? Double(firing[i]) / Double(tokens) : 0 }
}

extension LatentHistogram {
    /// The narrowest bin: 2⁻²⁰.
    public static let smallestBinWidth: Float = 1.0 / Float(1 << 20)
}
