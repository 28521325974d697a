import Tensors

/// The families that share Llama's layout (`model.layers.l.self_attn.q_proj`, RMS or layer
/// norm, rotary positions, gated MLP): Llama (incl. Llama 3.1 `rope_scaling`), Mistral, Qwen2
/// and OLMo. Each differs only in the options below.
public enum LlamaFamilies {
    /// Llama (`LlamaForCausalLM`): RMSNorm, SwiGLU, grouped-query attention, optional biases.
    public static let llama = DecoderFamily(modelType: "llama", keyMap: .llamaStyle()) { c in
        let bias = try c.bool("attention_bias", default: false)
        return try config(c, modelType: "llama", bias: .attention(bias, mlp: try c.bool("mlp_bias", default: false)))
    }

    /// Mistral: Llama with a sliding window on every layer (`sliding_window`, null for none).
    public static let mistral = DecoderFamily(modelType: "mistral", keyMap: .llamaStyle()) { c in
        var d = try config(c, modelType: "mistral", bias: .none)
        // transformers' default window is 4096 when the key is absent; null means none.
        d.attention.windows = c.json["sliding_window"] == nil ? Array(repeating: 4096, count: d.layers)
            : try c.windowOnEveryLayer("sliding_window", layers: d.layers)
        return d
    }

    /// Qwen2: Llama with biases on q, k and v only. Layers l ≥ `max_window_layers` use
    /// `sliding_window` when `use_sliding_window` is true (the rule transformers' Qwen2 attention
    /// states; its 4.51 eager mask applies the window to every layer whenever it is set).
    public static let qwen2 = DecoderFamily(modelType: "qwen2", keyMap: .llamaStyle()) { c in
        var d = try config(c, modelType: "qwen2",
                           bias: ProjectionBias(query: true, key: true, value: true, output: false, mlpIn: false, mlpOut: false))
        if try c.bool("use_sliding_window", default: false),
           let window = c.json["sliding_window"] == nil ? 4096 : try c.optionalInt("sliding_window") {
            let first = try c.optionalInt("max_window_layers", minimum: 0) ?? 28
            d.attention.windows = (0..<d.layers).map { $0 >= first ? window : nil }
        }
        return d
    }

    /// OLMo (the original, model_type "olmo"): layer norm without parameters (ε = 1e-5), q, k
    /// and v clamped to ±`clip_qkv`, no norm weights in checkpoints.
    public static let olmo = DecoderFamily(modelType: "olmo", keyMap: .llamaStyle()) { c in
        let bias = try c.bool("attention_bias", default: false)
        var d = try config(c, modelType: "olmo", bias: .attention(bias, mlp: false))
        d.norm = .nonParametricLayerNorm(epsilon: 1e-5)
        d.attention.qkvClip = try c.optionalPositiveFloat("clip_qkv")
        return d
    }

    /// The options every family of this layout reads the same way.
    static func config(_ c: ModelConfig, modelType: String, bias: ProjectionBias, defaultHeadDim: Int? = nil) throws -> DecoderConfig {
        let width = try c.int("hidden_size"), heads = try c.int("num_attention_heads")
        let (kvHeads, headDim) = try c.headShape(width: width, heads: heads, defaultHeadDim: defaultHeadDim)
        return DecoderConfig(
            modelType: modelType, vocabularySize: try c.int("vocab_size"), width: width, layers: try c.int("num_hidden_layers"),
            heads: heads, kvHeads: kvHeads, headDim: headDim, intermediate: try c.int("intermediate_size"),
            contextLength: try c.int("max_position_embeddings"), norm: .rmsNorm(epsilon: try c.float("rms_norm_eps", default: 1e-6, minimum: 0)),
            bias: bias, positions: .rotary(try c.rotary(headDim: headDim)),
            mlp: .gated(try c.activation("hidden_act", default: .silu)),
            tiedHead: try c.bool("tie_word_embeddings", default: false))
    }
}

/// Gemma and Gemma 2: Llama's layout with RMSNorm scaled by (1 + w), embeddings × √D, an
/// explicit head width and a tied head; Gemma 2 adds post-norms, `query_pre_attn_scalar`,
/// attention-logit and final-logit soft-capping and a sliding window on even layers.
public enum GemmaFamilies {
    /// Gemma (`GemmaForCausalLM`). transformers 4.51 reads the activation from `hidden_act` only.
    public static let gemma = DecoderFamily(modelType: "gemma", keyMap: .llamaStyle()) { c in
        var d = try LlamaFamilies.config(c, modelType: "gemma", bias: .attention(try c.bool("attention_bias", default: false), mlp: false),
                                         defaultHeadDim: 256)
        d.mlp = .gated(try c.activation("hidden_act", default: .geluPytorchTanh))
        return try gemmaCommon(d, c)
    }

    /// Gemma 2 (`Gemma2ForCausalLM`).
    public static let gemma2 = DecoderFamily(modelType: "gemma2", keyMap: gemma2Keys) { c in
        var d = try LlamaFamilies.config(c, modelType: "gemma2", bias: .attention(try c.bool("attention_bias", default: false), mlp: false),
                                         defaultHeadDim: 256)
        d.mlp = .gated(try c.activation("hidden_activation", default: .geluPytorchTanh))
        d.residual = .sandwich
        // Absent keys take transformers' Gemma2Config defaults; explicit nulls switch a feature off.
        func absent(_ key: String) -> Bool { c.json[key] == nil }
        d.attention.queryScale = .inverseSquareRoot(absent("query_pre_attn_scalar") ? 256 : try c.optionalPositiveFloat("query_pre_attn_scalar") ?? Float(d.headDim))
        d.attention.logitSoftCap = absent("attn_logit_softcapping") ? 50 : try c.optionalPositiveFloat("attn_logit_softcapping")
        d.finalLogitSoftCap = absent("final_logit_softcapping") ? 30 : try c.optionalPositiveFloat("final_logit_softcapping")
        if let window = absent("sliding_window") ? 4096 : try c.optionalInt("sliding_window") {
            d.attention.windows = (0..<d.layers).map { $0 % 2 == 0 ? window : nil }
        }
        return try gemmaCommon(d, c)
    }

    /// Gemma 2's checkpoint names: Llama's plus the pre- and post-feed-forward norms.
    public static let gemma2Keys: DecoderKeyMap = {
        var keys = DecoderKeyMap.llamaStyle()
        keys.mlpNorm = "pre_feedforward_layernorm"
        keys.postAttentionNorm = "post_attention_layernorm"
        keys.postMLPNorm = "post_feedforward_layernorm"
        keys.layerOrder = [.attention, .mlp, .attentionNorm, .postAttentionNorm, .mlpNorm, .postMLPNorm]
        return keys
    }()

    /// What Gemma and Gemma 2 share beyond Llama.
    static func gemmaCommon(_ d: DecoderConfig, _ c: ModelConfig) throws -> DecoderConfig {
        var d = d
        d.norm = .rmsNormPlusOne(epsilon: d.norm.epsilon)
        d.embeddingScale = Float(Double(d.width).squareRoot())
        d.tiedHead = try c.bool("tie_word_embeddings", default: true)
        return d
    }
}

extension NormKind {
    /// The norm's ε.
    public var epsilon: Float {
        switch self {
        case .layerNorm(let e), .nonParametricLayerNorm(let e), .rmsNorm(let e), .rmsNormPlusOne(let e): return e
        }
    }
}
