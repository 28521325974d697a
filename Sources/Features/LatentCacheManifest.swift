/// What a latent cache says about itself: `manifest.json` of a `LatentCache` folder.
public struct LatentCacheManifest: Codable, Equatable, Sendable {
    /// The model the activations came from (type, `ModelFingerprint`, source) — the same record
    /// a codebook cache keeps.
    public typealias Model = CodebookCacheManifest.Model

    /// The sparse autoencoder.
    public struct Autoencoder: Codable, Equatable, Sendable {
        /// Where it was read from.
        public var source: String
        /// d_in and d_sae (L).
        public var dIn: Int, dSae: Int
        /// "relu", "topk", "batchtopk" or "jumprelu", and k for the TopK kinds.
        public var architecture: String
        public var k: Int?
        public init(source: String, dIn: Int, dSae: Int, architecture: String, k: Int?) {
            self.source = source
            self.dIn = dIn
            self.dSae = dSae
            self.architecture = architecture
            self.k = k
        }
        enum CodingKeys: String, CodingKey {
            case source, architecture, k
            case dIn = "d_in", dSae = "d_sae"
        }
    }

    /// The corpus.
    public struct Corpus: Codable, Equatable, Sendable {
        /// The text file.
        public var source: String
        /// Windows read, tokens per window (the last may be shorter), tokens counted, and the
        /// leading positions of each window left out.
        public var windows: Int, windowTokens: Int, tokens: Int, skipPositions: Int
        public init(source: String, windows: Int, windowTokens: Int, tokens: Int, skipPositions: Int) {
            self.source = source
            self.windows = windows
            self.windowTokens = windowTokens
            self.tokens = tokens
            self.skipPositions = skipPositions
        }
        enum CodingKeys: String, CodingKey {
            case source, windows, tokens
            case windowTokens = "window_tokens", skipPositions = "skip_positions"
        }
    }

    /// Always "sae-latents".
    public var kind: String
    /// The format version, 1.
    public var version: Int
    /// ISO 8601 time of writing.
    public var created: String
    public var model: Model
    /// The site, as `Site(parsing:)` reads it ("L3.block_output").
    public var site: String
    public var sae: Autoencoder
    public var corpus: Corpus
    /// K (contexts per latent), c (tokens each side), B (histogram bins), n (logit-lens tokens; 0: none).
    public var top: Int, context: Int, bins: Int, logitTokens: Int
    /// What the logit lens passed the decoder directions through (nil without a lens).
    public var logitLensNormalization: String?
    /// The folder's files by role: "latents" and "vocabulary".
    public var files: [String: String]
    /// mean_l0, dead_fraction (never fired), dense_fraction (fired on more than 10% of tokens).
    public var metrics: [String: Double]

    enum CodingKeys: String, CodingKey {
        case kind, version, created, model, site, sae, corpus, top, context, bins, files, metrics
        case logitTokens = "logit_tokens", logitLensNormalization = "logit_lens_normalization"
    }
}
