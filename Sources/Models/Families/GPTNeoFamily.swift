import Tensors

/// GPT-Neo (`GPTNeoForCausalLM`, e.g. TinyStories): GPT-2's shape with torch Linear layouts,
/// separate q/k/v without bias, attention scores not scaled, and layers alternating global and
/// local (sliding-window) attention as `attention_types` says.
public enum GPTNeoFamily {
    /// Checkpoint names (`transformer.h.l.attn.attention.q_proj`, …).
    public static let keyMap = DecoderKeyMap(
        tokenEmbedding: "transformer.wte", positionEmbedding: "transformer.wpe", layerPrefix: "transformer.h",
        attentionNorm: "ln_1", mlpNorm: "ln_2", query: "attn.attention.q_proj", key: "attn.attention.k_proj",
        value: "attn.attention.v_proj", attentionOutput: "attn.attention.out_proj", mlpUp: "mlp.c_fc", mlpDown: "mlp.c_proj",
        finalNorm: "transformer.ln_f", outputHead: "lm_head", layerOrder: [.attentionNorm, .attention, .mlpNorm, .mlp],
        ignoredSuffixes: [".attn.attention.bias", ".attn.attention.masked_bias"])

    /// The registry entry for model_type "gpt_neo".
    public static let family = DecoderFamily(modelType: "gpt_neo", keyMap: keyMap, config: config)

    /// Reads GPT-Neo's config.json.
    public static func config(_ c: ModelConfig) throws -> DecoderConfig {
        let width = try c.int("hidden_size"), heads = try c.int("num_heads"), layers = try c.int("num_layers")
        try c.requireDivisor("num_heads", heads, of: "hidden_size", width)
        let window = try c.int("window_size")
        let windows = try layerTypes(c, layers: layers).map { $0 == "local" ? window : nil }
        return DecoderConfig(
            modelType: "gpt_neo", vocabularySize: try c.int("vocab_size"), width: width, layers: layers, heads: heads,
            intermediate: try c.optionalInt("intermediate_size") ?? 4 * width, contextLength: try c.int("max_position_embeddings"),
            norm: .layerNorm(epsilon: try c.float("layer_norm_epsilon", default: 1e-5, minimum: 0)),
            bias: ProjectionBias(query: false, key: false, value: false, output: true, mlpIn: true, mlpOut: true),
            positions: .learned, attention: AttentionOptions(windows: windows, queryScale: .none),
            mlp: .plain(try c.activation("activation_function", default: .geluNew)),
            tiedHead: try c.bool("tie_word_embeddings", default: true))
    }

    /// `attention_types` ([[["global", "local"], n], …]: each pattern repeated n times) as one
    /// type per layer.
    static func layerTypes(_ c: ModelConfig, layers: Int) throws -> [String] {
        let allowed = "a list of [[\"global\" | \"local\", …], count] pairs covering num_layers (\(layers)) layers"
        guard let groups = c.json["attention_types"]?.arrayValue else { throw c.fail("attention_types", c.json["attention_types"], allowed) }
        var types: [String] = []
        for group in groups {
            guard let pair = group.arrayValue, pair.count == 2, let pattern = pair[0].arrayValue?.compactMap(\.stringValue),
                  pattern.count == pair[0].arrayValue?.count, let count = pair[1].intValue, count >= 0, count <= layers,
                  pattern.allSatisfy({ $0 == "global" || $0 == "local" }) else {
                throw c.fail("attention_types", c.json["attention_types"], allowed)
            }
            for _ in 0..<count { types += pattern }
        }
        guard types.count == layers else { throw c.fail("attention_types", c.json["attention_types"], allowed) }
        return types
    }
}
