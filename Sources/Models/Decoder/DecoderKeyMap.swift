/// Where a family's checkpoint keeps each part of a decoder: Hugging Face dotted names, without
/// the ".weight" / ".bias" suffix. Layer parts are relative to `layerPrefix.<l>`.
///
/// GPT-2's map, for example, says the token embedding is `transformer.wte`, layer l lives under
/// `transformer.h.l`, its attention norm is `ln_1` and its fused projection `attn.c_attn`.
public struct DecoderKeyMap: Sendable {
    /// The parts of a layer, in the order its checkpoint lists them (parameters are visited in
    /// this order, so seeded random initialisation is the same for every family layout).
    public enum LayerPart: Sendable {
        case attentionNorm, mlpNorm, postAttentionNorm, postMLPNorm, attention, mlp
    }

    /// The token embedding (and tied output head).
    public var tokenEmbedding: String
    /// The learned position table (learned positions only).
    public var positionEmbedding: String?
    /// Layer l's keys start with "\(layerPrefix).\(l).".
    public var layerPrefix: String
    /// The norm before attention (input_layernorm, ln_1).
    public var attentionNorm: String
    /// The MLP's norm (unused with a shared norm).
    public var mlpNorm: String
    /// Gemma 2's norm of the attention output (sandwich residual only).
    public var postAttentionNorm: String?
    /// Gemma 2's norm of the MLP output (sandwich residual only).
    public var postMLPNorm: String?
    /// The fused projection (fused layouts) …
    public var fusedQKV: String?
    /// … or the separate q, k and v projections.
    public var query: String?
    /// The key projection (separate layouts).
    public var key: String?
    /// The value projection (separate layouts).
    public var value: String?
    /// The attention output projection.
    public var attentionOutput: String
    /// The MLP's input projection (the "up" projection of gated MLPs).
    public var mlpUp: String
    /// The gate projection of gated MLPs.
    public var mlpGate: String?
    /// The MLP's output projection.
    public var mlpDown: String
    /// The norm after the last block.
    public var finalNorm: String
    /// The untied output head.
    public var outputHead: String
    /// Order of the layer's parts in the checkpoint.
    public var layerOrder: [LayerPart]
    /// Checkpoint tensors the model recomputes or does not use (buffers such as causal-mask
    /// tables and rotary frequencies), matched by suffix.
    public var ignoredSuffixes: [String]

    /// A key map; unset optional parts are absent from the family's checkpoints.
    public init(tokenEmbedding: String, positionEmbedding: String? = nil, layerPrefix: String, attentionNorm: String,
                mlpNorm: String, postAttentionNorm: String? = nil, postMLPNorm: String? = nil, fusedQKV: String? = nil,
                query: String? = nil, key: String? = nil, value: String? = nil, attentionOutput: String, mlpUp: String,
                mlpGate: String? = nil, mlpDown: String, finalNorm: String, outputHead: String,
                layerOrder: [LayerPart] = [.attentionNorm, .mlpNorm, .attention, .mlp], ignoredSuffixes: [String] = []) {
        self.tokenEmbedding = tokenEmbedding
        self.positionEmbedding = positionEmbedding
        self.layerPrefix = layerPrefix
        self.attentionNorm = attentionNorm
        self.mlpNorm = mlpNorm
        self.postAttentionNorm = postAttentionNorm
        self.postMLPNorm = postMLPNorm
        self.fusedQKV = fusedQKV
        self.query = query
        self.key = key
        self.value = value
        self.attentionOutput = attentionOutput
        self.mlpUp = mlpUp
        self.mlpGate = mlpGate
        self.mlpDown = mlpDown
        self.finalNorm = finalNorm
        self.outputHead = outputHead
        self.layerOrder = layerOrder
        self.ignoredSuffixes = ignoredSuffixes
    }

    /// The layout Llama and most later families share (`model.layers.l.self_attn.q_proj`, …).
    public static func llamaStyle(ignoredSuffixes: [String] = ["rotary_emb.inv_freq"]) -> DecoderKeyMap {
        DecoderKeyMap(tokenEmbedding: "model.embed_tokens", layerPrefix: "model.layers", attentionNorm: "input_layernorm",
                      mlpNorm: "post_attention_layernorm", query: "self_attn.q_proj", key: "self_attn.k_proj",
                      value: "self_attn.v_proj", attentionOutput: "self_attn.o_proj", mlpUp: "mlp.up_proj",
                      mlpGate: "mlp.gate_proj", mlpDown: "mlp.down_proj", finalNorm: "model.norm", outputHead: "lm_head",
                      ignoredSuffixes: ignoredSuffixes)
    }

    /// True for checkpoint keys the model does not load.
    public func isIgnored(_ key: String) -> Bool { ignoredSuffixes.contains { key.hasSuffix($0) } }
}
