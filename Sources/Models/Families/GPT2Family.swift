import Tensors

/// GPT-2 (`GPT2LMHeadModel`): learned positions, LayerNorm, one fused q/k/v projection and every
/// linear map stored (in, out) as Conv1D, a plain GELU MLP, the head tied to the embedding.
public enum GPT2Family {
    /// Checkpoint names (`transformer.h.l.attn.c_attn`, …).
    public static let keyMap = DecoderKeyMap(
        tokenEmbedding: "transformer.wte", positionEmbedding: "transformer.wpe", layerPrefix: "transformer.h",
        attentionNorm: "ln_1", mlpNorm: "ln_2", fusedQKV: "attn.c_attn", attentionOutput: "attn.c_proj",
        mlpUp: "mlp.c_fc", mlpDown: "mlp.c_proj", finalNorm: "transformer.ln_f", outputHead: "lm_head",
        layerOrder: [.attentionNorm, .attention, .mlpNorm, .mlp], ignoredSuffixes: [".attn.bias", ".attn.masked_bias"])

    /// The registry entry for model_type "gpt2".
    public static let family = DecoderFamily(modelType: "gpt2", keyMap: keyMap, config: config)

    /// A GPT-2 configuration from its hyperparameters (inner width 4·width by default).
    public static func config(vocabularySize: Int, positions: Int, width: Int, layers: Int, heads: Int, inner: Int? = nil,
                              layerNormEpsilon: Float = 1e-5, activation: Activation = .geluNew,
                              scaleAttentionWeights: Bool = true, scaleByInverseLayerIndex: Bool = false) -> DecoderConfig {
        DecoderConfig(modelType: "gpt2", vocabularySize: vocabularySize, width: width, layers: layers, heads: heads,
                      intermediate: inner ?? 4 * width, contextLength: positions, norm: .layerNorm(epsilon: layerNormEpsilon),
                      projection: .fused, weightLayout: .inputMajor, bias: .all, positions: .learned,
                      attention: AttentionOptions(queryScale: scaleAttentionWeights ? .inverseSquareRootHeadDim : .none,
                                                  scaleByInverseLayerIndex: scaleByInverseLayerIndex),
                      mlp: .plain(activation), tiedHead: true)
    }

    /// GPT-2 small (124M): width 768, 12 layers, 12 heads, vocabulary 50257, 1024 positions.
    public static let small = config(vocabularySize: 50257, positions: 1024, width: 768, layers: 12, heads: 12)

    /// A GPT-2 model with unloaded weights.
    public static func model(_ config: DecoderConfig) throws -> DecoderModel { try DecoderModel(config, keyMap: keyMap) }

    /// Reads GPT-2's config.json.
    public static func config(_ c: ModelConfig) throws -> DecoderConfig {
        let width = try c.int("n_embd"), heads = try c.int("n_head")
        try c.requireDivisor("n_head", heads, of: "n_embd", width)
        return config(vocabularySize: try c.int("vocab_size"), positions: try c.int("n_positions"), width: width,
                      layers: try c.int("n_layer"), heads: heads, inner: try c.optionalInt("n_inner"),
                      layerNormEpsilon: try c.float("layer_norm_epsilon", default: 1e-5, minimum: 0),
                      activation: try c.activation("activation_function", default: .geluNew),
                      scaleAttentionWeights: try c.bool("scale_attn_weights", default: true),
                      scaleByInverseLayerIndex: try c.bool("scale_attn_by_inverse_layer_idx", default: false))
    }
}
