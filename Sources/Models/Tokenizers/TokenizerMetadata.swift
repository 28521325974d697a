/// A tokenizer as GGUF metadata describes it, in plain Swift types. A GGUF reader fills it from
/// the `tokenizer.ggml.*` keys (each property names its key) and passes it to
/// `TokenizerLoader.load(ggufMetadata:)`; absent keys stay nil and get llama.cpp's defaults.
///
/// Supported models: `gpt2` (byte-level BPE with `merges` and a `pre` name) and `llama`
/// (SentencePiece BPE with `scores` and byte-fallback tokens).
public struct TokenizerMetadata: Codable, Sendable, Equatable {
    /// `tokenizer.ggml.model`: "gpt2" or "llama".
    public var model: String
    /// `tokenizer.ggml.pre`: the pre-tokenizer name for gpt2 models ("smollm", "llama-bpe",
    /// "qwen2"…; nil or "" means llama.cpp's "default").
    public var pre: String?
    /// `tokenizer.ggml.tokens`: the vocabulary, id = index.
    public var tokens: [String]
    /// `tokenizer.ggml.merges`: "left right" strings, rank = index (gpt2 models).
    public var merges: [String]
    /// `tokenizer.ggml.scores`: merge priority of each token, highest first (llama models).
    public var scores: [Float]?
    /// `tokenizer.ggml.token_type`: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte.
    public var tokenTypes: [Int]?
    /// `tokenizer.ggml.bos_token_id`.
    public var bosId: Int?
    /// `tokenizer.ggml.eos_token_id`.
    public var eosId: Int?
    /// `tokenizer.ggml.unknown_token_id`.
    public var unknownId: Int?
    /// `tokenizer.ggml.padding_token_id`.
    public var paddingId: Int?
    /// `tokenizer.ggml.add_bos_token`.
    public var addBOS: Bool?
    /// `tokenizer.ggml.add_eos_token`.
    public var addEOS: Bool?
    /// `tokenizer.ggml.add_space_prefix` (llama models; default true).
    public var addSpacePrefix: Bool?
    /// Where the metadata came from (a file path), used in error messages.
    public var source: String

    /// Metadata with the given keys; nil ones are absent from the file.
    public init(model: String, pre: String? = nil, tokens: [String], merges: [String] = [], scores: [Float]? = nil,
                tokenTypes: [Int]? = nil, bosId: Int? = nil, eosId: Int? = nil, unknownId: Int? = nil, paddingId: Int? = nil,
                addBOS: Bool? = nil, addEOS: Bool? = nil, addSpacePrefix: Bool? = nil, source: String = "GGUF metadata") {
        self.model = model
        self.pre = pre
        self.tokens = tokens
        self.merges = merges
        self.scores = scores
        self.tokenTypes = tokenTypes
        self.bosId = bosId
        self.eosId = eosId
        self.unknownId = unknownId
        self.paddingId = paddingId
        self.addBOS = addBOS
        self.addEOS = addEOS
        self.addSpacePrefix = addSpacePrefix
        self.source = source
    }

    private enum CodingKeys: String, CodingKey {
        case model, pre, tokens, merges, scores, tokenTypes, bosId, eosId, unknownId, paddingId, addBOS, addEOS, addSpacePrefix, source
    }

    /// Decodes the properties by name; `merges` and `source` may be absent.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(model: try c.decode(String.self, forKey: .model), pre: try c.decodeIfPresent(String.self, forKey: .pre),
                  tokens: try c.decode([String].self, forKey: .tokens), merges: try c.decodeIfPresent([String].self, forKey: .merges) ?? [],
                  scores: try c.decodeIfPresent([Float].self, forKey: .scores), tokenTypes: try c.decodeIfPresent([Int].self, forKey: .tokenTypes),
                  bosId: try c.decodeIfPresent(Int.self, forKey: .bosId), eosId: try c.decodeIfPresent(Int.self, forKey: .eosId),
                  unknownId: try c.decodeIfPresent(Int.self, forKey: .unknownId), paddingId: try c.decodeIfPresent(Int.self, forKey: .paddingId),
                  addBOS: try c.decodeIfPresent(Bool.self, forKey: .addBOS), addEOS: try c.decodeIfPresent(Bool.self, forKey: .addEOS),
                  addSpacePrefix: try c.decodeIfPresent(Bool.self, forKey: .addSpacePrefix),
                  source: try c.decodeIfPresent(String.self, forKey: .source) ?? "GGUF metadata")
    }
}

/// GGUF token types (`tokenizer.ggml.token_type`).
public enum GGUFTokenType: Int, Sendable, CaseIterable {
    case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
}
