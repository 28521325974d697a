import Tensors

/// Hyperparameters of a GPT-NeoX model (Pythia family).
public struct GPTNeoXConfiguration: Sendable {
    public var vocabularySize: Int
    public var positions: Int
    public var width: Int
    public var layers: Int
    public var heads: Int
    public var intermediate: Int
    public var layerNormEpsilon: Float
    public var activation: Activation
    /// Fraction of each head's features that are rotated.
    public var rotaryFraction: Float
    public var rotaryBase: Float
    /// True: x + attn(ln1(x)) + mlp(ln2(x)); false: sequential residual.
    public var parallelResidual: Bool
    public var tiedEmbeddings: Bool
    public var attentionBias: Bool

    /// Reads config.json fields.
    public init(_ c: ModelConfig) throws {
        vocabularySize = try c.int("vocab_size")
        positions = try c.int("max_position_embeddings")
        width = try c.int("hidden_size")
        layers = try c.int("num_hidden_layers")
        heads = try c.int("num_attention_heads")
        intermediate = try c.int("intermediate_size")
        layerNormEpsilon = try c.float("layer_norm_eps", default: 1e-5, minimum: 0)
        activation = try c.activation("hidden_act", default: .gelu)
        rotaryFraction = try c.float(c.json["rotary_pct"] != nil ? "rotary_pct" : "partial_rotary_factor", default: 1, minimum: 0)
        rotaryBase = try c.float(c.json["rotary_emb_base"] != nil ? "rotary_emb_base" : "rope_theta", default: 10000, minimum: 1)
        parallelResidual = try c.bool("use_parallel_residual", default: true)
        tiedEmbeddings = try c.bool("tie_word_embeddings", default: false)
        attentionBias = try c.bool("attention_bias", default: true)
        try c.requireDivisor("num_attention_heads", heads, of: "hidden_size", width)
        try c.requireNull("rope_scaling", because: "rope scaling is not supported")
    }
}

/// GPT-NeoX (`GPTNeoXForCausalLM`): fused QKV laid out per head ([q_h | k_h | v_h]), partial
/// rotary embeddings, parallel or sequential residual.
public final class GPTNeoXModel: CausalLanguageModel {
    public let configuration: GPTNeoXConfiguration
    public let modelType = "gpt_neox"
    public let siteTable: SiteTable
    let embedIn: Embedding
    let blocks: [Block]
    let finalNorm: LayerNorm
    let head: LanguageModelHead
    let rotary: RotaryEmbedding

    final class Block: Module {
        let inputNorm, postAttentionNorm: LayerNorm
        let qkv, dense, up, down: Linear

        init(_ c: GPTNeoXConfiguration) {
            inputNorm = LayerNorm(c.width, epsilon: c.layerNormEpsilon)
            postAttentionNorm = LayerNorm(c.width, epsilon: c.layerNormEpsilon)
            qkv = Linear(inFeatures: c.width, outFeatures: 3 * c.width, bias: c.attentionBias)
            dense = Linear(inFeatures: c.width, outFeatures: c.width, bias: c.attentionBias)
            up = Linear(inFeatures: c.width, outFeatures: c.intermediate)
            down = Linear(inFeatures: c.intermediate, outFeatures: c.width)
        }

        func visitParameters(_ v: (String, Parameter) -> Void) {
            visit(inputNorm, prefix: "input_layernorm", v)
            visit(postAttentionNorm, prefix: "post_attention_layernorm", v)
            visit(qkv, prefix: "attention.query_key_value", v)
            visit(dense, prefix: "attention.dense", v)
            visit(up, prefix: "mlp.dense_h_to_4h", v)
            visit(down, prefix: "mlp.dense_4h_to_h", v)
        }
    }

    public init(_ c: GPTNeoXConfiguration) {
        configuration = c
        embedIn = Embedding(count: c.vocabularySize, width: c.width)
        blocks = (0..<c.layers).map { _ in Block(c) }
        finalNorm = LayerNorm(c.width, epsilon: c.layerNormEpsilon)
        head = LanguageModelHead(tiedTo: c.tiedEmbeddings ? embedIn : nil, vocabulary: c.vocabularySize, width: c.width)
        let headDim = c.width / c.heads
        rotary = RotaryEmbedding(rotaryDim: Int(Float(headDim) * c.rotaryFraction) / 2 * 2, headDim: headDim, base: c.rotaryBase)
        siteTable = transformerSiteTable(model: "gpt_neox", layers: c.layers, hidden: c.width, heads: c.heads, kvHeads: c.heads,
                                         headDim: headDim, intermediate: c.intermediate, maxPositions: c.positions,
                                         includeQKV: true, includeAttentionWeight: true)
    }

    public var vocabularySize: Int { configuration.vocabularySize }
    public var maximumPositions: Int? { nil }

    public func visitParameters(_ v: (String, Parameter) -> Void) {
        visit(embedIn, prefix: "gpt_neox.embed_in", v)
        for (i, b) in blocks.enumerated() { visit(b, prefix: "gpt_neox.layers.\(i)", v) }
        visit(finalNorm, prefix: "gpt_neox.final_layer_norm", v)
        v("embed_out.weight", head.weight)
    }

    public var tiedKeys: Set<String> { configuration.tiedEmbeddings ? ["embed_out.weight"] : [] }

    static func isIgnorableBuffer(_ key: String) -> Bool {
        key.hasSuffix(".attention.bias") || key.hasSuffix(".attention.masked_bias") || key.hasSuffix("rotary_emb.inv_freq")
    }

    public func makeCache(batchSize: Int, capacity: Int) -> KeyValueCache {
        KeyValueCache(layers: configuration.layers, batchSize: batchSize, capacity: capacity, width: configuration.width)
    }

    /// Splits the per-head fused projection (B, S, H·3·hd) into q, k, v (B, S, H·hd) each.
    func splitHeads(_ fused: Tensor) -> (Tensor, Tensor, Tensor) {
        let c = configuration
        let b = fused.shape[0], s = fused.shape[1], hd = c.width / c.heads
        let view = fused.reshaped([b, s, c.heads, 3 * hd])
        func part(_ i: Int) -> Tensor { view.narrowed(3, start: i * hd, length: hd).contiguous().reshaped([b, s, c.width]) }
        return (part(0), part(1), part(2))
    }

    public func forward(_ input: ModelInput, options: ForwardOptions) throws -> ModelOutput {
        let c = configuration
        let ids = try checkTokens(input, vocabulary: c.vocabularySize, model: "gpt_neox")
        let batch = ids.shape[0], length = ids.shape[1]
        let positions = try resolvePositions(options, batch: batch, length: length)
        let hooks = options.hooks
        var x = embedIn(ids)
        var hidden: [Tensor] = []
        let angles = rotary.tables(positions)  // shared by every layer
        let core = AttentionCore(heads: c.heads, kvHeads: c.heads, scale: 1 / Float(c.width / c.heads).squareRoot(), causal: true)
        for (l, block) in blocks.enumerated() {
            if options.outputHiddenStates { hidden.append(x) }
            hooks(l, .blockInput, &x)
            var a = block.inputNorm(x)
            hooks(l, .attentionInput, &a)
            var (q, k, v) = splitHeads(block.qkv(a))
            hooks(l, .queryOutput, &q)
            hooks(l, .keyOutput, &k)
            hooks(l, .valueOutput, &v)
            if rotary.rotaryDim > 0 {
                q = rotary.apply(q, tables: angles)
                k = rotary.apply(k, tables: angles)
            }
            let context = try core(layer: l, query: q, key: k, value: v, options: options)
            var attentionOut = block.dense(context)
            hooks(l, .attentionOutput, &attentionOut)
            // Parallel: x + attn(ln1(x)) + mlp(ln2(x)); sequential: r = x + attn(ln1(x)), r + mlp(ln2(r)).
            let residual = c.parallelResidual ? x : attentionOut + x
            var m = block.postAttentionNorm(residual)
            hooks(l, .mlpInput, &m)
            var act = c.activation(block.up(m))
            hooks(l, .mlpActivation, &act)
            var mlpOut = block.down(act)
            hooks(l, .mlpOutput, &mlpOut)
            x = c.parallelResidual ? mlpOut + attentionOut + x : mlpOut + residual
            hooks(l, .blockOutput, &x)
            if hooks.canStop(afterLayer: l) { return ModelOutput(output: x, hiddenStates: hidden, stoppedEarly: true) }
        }
        return head.output(x, hidden: hidden, newTokens: length, options: options, finalNorm: finalNorm.callAsFunction)
    }
}
