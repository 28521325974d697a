import Tensors

/// GPT-NeoX / Pythia (`GPTNeoXForCausalLM`): LayerNorm, one projection laid out per head
/// ([q_h | k_h | v_h]), partial rotary embeddings, parallel or sequential residual.
public enum GPTNeoXFamily {
    /// Checkpoint names (`gpt_neox.layers.l.attention.query_key_value`, …).
    public static let keyMap = DecoderKeyMap(
        tokenEmbedding: "gpt_neox.embed_in", layerPrefix: "gpt_neox.layers", attentionNorm: "input_layernorm",
        mlpNorm: "post_attention_layernorm", fusedQKV: "attention.query_key_value", attentionOutput: "attention.dense",
        mlpUp: "mlp.dense_h_to_4h", mlpDown: "mlp.dense_4h_to_h", finalNorm: "gpt_neox.final_layer_norm",
        outputHead: "embed_out", ignoredSuffixes: [".attention.bias", ".attention.masked_bias", "rotary_emb.inv_freq"])

    /// The registry entry for model_type "gpt_neox".
    public static let family = DecoderFamily(modelType: "gpt_neox", keyMap: keyMap, config: config)

    /// Reads GPT-NeoX's config.json (`rotary_pct` defaults to 0.25 as in transformers).
    public static func config(_ c: ModelConfig) throws -> DecoderConfig {
        let width = try c.int("hidden_size"), heads = try c.int("num_attention_heads")
        try c.requireDivisor("num_attention_heads", heads, of: "hidden_size", width)
        let attentionBias = try c.bool("attention_bias", default: true)
        let fractionField = c.json["rotary_pct"] != nil ? "rotary_pct" : "partial_rotary_factor"
        let thetaField = c.json["rotary_emb_base"] != nil ? "rotary_emb_base" : "rope_theta"
        let rotary = try c.rotary(headDim: width / heads, thetaField: thetaField, fractionField: fractionField, defaultFraction: 0.25)
        let parallel = try c.bool("use_parallel_residual", default: true)
        return DecoderConfig(
            modelType: "gpt_neox", vocabularySize: try c.int("vocab_size"), width: width, layers: try c.int("num_hidden_layers"),
            heads: heads, intermediate: try c.int("intermediate_size"), contextLength: try c.int("max_position_embeddings"),
            norm: .layerNorm(epsilon: try c.float("layer_norm_eps", default: 1e-5, minimum: 0)), projection: .fusedPerHead,
            bias: .attention(attentionBias, mlp: true), positions: .rotary(rotary),
            mlp: .plain(try c.activation("hidden_act", default: .gelu)),
            residual: parallel ? .parallel(sharedNorm: false) : .sequential,
            tiedHead: try c.bool("tie_word_embeddings", default: false))
    }
}
