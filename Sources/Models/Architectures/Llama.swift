import Tensors

/// Hyperparameters of a Llama model.
public struct LlamaConfiguration: Sendable {
    public var vocabularySize: Int
    public var positions: Int
    public var width: Int
    public var layers: Int
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    public var intermediate: Int
    public var rmsEpsilon: Float
    public var activation: Activation
    public var ropeTheta: Float
    public var tiedEmbeddings: Bool
    public var attentionBias: Bool
    public var mlpBias: Bool

    /// Reads config.json fields.
    public init(_ c: ModelConfig) throws {
        vocabularySize = try c.int("vocab_size")
        positions = try c.int("max_position_embeddings")
        width = try c.int("hidden_size")
        layers = try c.int("num_hidden_layers")
        heads = try c.int("num_attention_heads")
        kvHeads = try c.optionalInt("num_key_value_heads") ?? heads
        headDim = try c.optionalInt("head_dim") ?? width / heads
        intermediate = try c.int("intermediate_size")
        rmsEpsilon = try c.float("rms_norm_eps", default: 1e-6, minimum: 0)
        activation = try c.activation("hidden_act", default: .silu)
        ropeTheta = try c.float("rope_theta", default: 10000, minimum: 1)
        tiedEmbeddings = try c.bool("tie_word_embeddings", default: false)
        attentionBias = try c.bool("attention_bias", default: false)
        mlpBias = try c.bool("mlp_bias", default: false)
        try c.requireDivisor("num_key_value_heads", kvHeads, of: "num_attention_heads", heads)
        // Without an explicit head_dim, each head is hidden_size / num_attention_heads wide.
        if try c.optionalInt("head_dim") == nil { try c.requireDivisor("num_attention_heads", heads, of: "hidden_size", width) }
        try c.requireNull("rope_scaling", because: "rope scaling is not supported")
    }
}

/// Llama (`LlamaForCausalLM`): RMSNorm, rotary embeddings, SwiGLU MLP, grouped-query or
/// multi-query attention, tied or untied output head.
public final class LlamaModel: CausalLanguageModel {
    public let configuration: LlamaConfiguration
    public let modelType: String
    public let siteTable: SiteTable
    let embedTokens: Embedding
    let blocks: [Block]
    let finalNorm: RMSNorm
    let head: LanguageModelHead
    let rotary: RotaryEmbedding

    final class Block: Module {
        let inputNorm, postAttentionNorm: RMSNorm
        let q, k, v, o, gate, up, down: Linear

        init(_ c: LlamaConfiguration) {
            inputNorm = RMSNorm(c.width, epsilon: c.rmsEpsilon)
            postAttentionNorm = RMSNorm(c.width, epsilon: c.rmsEpsilon)
            q = Linear(inFeatures: c.width, outFeatures: c.heads * c.headDim, bias: c.attentionBias)
            k = Linear(inFeatures: c.width, outFeatures: c.kvHeads * c.headDim, bias: c.attentionBias)
            v = Linear(inFeatures: c.width, outFeatures: c.kvHeads * c.headDim, bias: c.attentionBias)
            o = Linear(inFeatures: c.heads * c.headDim, outFeatures: c.width, bias: c.attentionBias)
            gate = Linear(inFeatures: c.width, outFeatures: c.intermediate, bias: c.mlpBias)
            up = Linear(inFeatures: c.width, outFeatures: c.intermediate, bias: c.mlpBias)
            down = Linear(inFeatures: c.intermediate, outFeatures: c.width, bias: c.mlpBias)
        }

        func visitParameters(_ v: (String, Parameter) -> Void) {
            visit(inputNorm, prefix: "input_layernorm", v)
            visit(postAttentionNorm, prefix: "post_attention_layernorm", v)
            visit(q, prefix: "self_attn.q_proj", v)
            visit(k, prefix: "self_attn.k_proj", v)
            visit(self.v, prefix: "self_attn.v_proj", v)
            visit(o, prefix: "self_attn.o_proj", v)
            visit(gate, prefix: "mlp.gate_proj", v)
            visit(up, prefix: "mlp.up_proj", v)
            visit(down, prefix: "mlp.down_proj", v)
        }
    }

    public init(_ c: LlamaConfiguration, modelType: String = "llama") {
        configuration = c
        self.modelType = modelType
        embedTokens = Embedding(count: c.vocabularySize, width: c.width)
        blocks = (0..<c.layers).map { _ in Block(c) }
        finalNorm = RMSNorm(c.width, epsilon: c.rmsEpsilon)
        head = LanguageModelHead(tiedTo: c.tiedEmbeddings ? embedTokens : nil, vocabulary: c.vocabularySize, width: c.width)
        rotary = RotaryEmbedding(rotaryDim: c.headDim, headDim: c.headDim, base: c.ropeTheta)
        siteTable = transformerSiteTable(model: modelType, layers: c.layers, hidden: c.width, heads: c.heads, kvHeads: c.kvHeads,
                                         headDim: c.headDim, intermediate: c.intermediate, maxPositions: c.positions,
                                         includeQKV: true, includeAttentionWeight: true)
    }

    public var vocabularySize: Int { configuration.vocabularySize }
    public var maximumPositions: Int? { nil }

    public func visitParameters(_ v: (String, Parameter) -> Void) {
        visit(embedTokens, prefix: "model.embed_tokens", v)
        for (i, b) in blocks.enumerated() { visit(b, prefix: "model.layers.\(i)", v) }
        visit(finalNorm, prefix: "model.norm", v)
        v("lm_head.weight", head.weight)
    }

    static func isIgnorableBuffer(_ key: String) -> Bool { key.hasSuffix("rotary_emb.inv_freq") }

    public var tiedKeys: Set<String> { configuration.tiedEmbeddings ? ["lm_head.weight"] : [] }

    public func makeCache(batchSize: Int, capacity: Int) -> KeyValueCache {
        KeyValueCache(layers: configuration.layers, batchSize: batchSize, capacity: capacity,
                      width: configuration.kvHeads * configuration.headDim)
    }

    public func forward(_ input: ModelInput, options: ForwardOptions) throws -> ModelOutput {
        let c = configuration
        let ids = try checkTokens(input, vocabulary: c.vocabularySize, model: modelType)
        let batch = ids.shape[0], length = ids.shape[1]
        let positions = try resolvePositions(options, batch: batch, length: length)
        let hooks = options.hooks
        var x = embedTokens(ids)
        var hidden: [Tensor] = []
        let angles = rotary.tables(positions)  // shared by every layer
        let core = AttentionCore(heads: c.heads, kvHeads: c.kvHeads, scale: 1 / Float(c.headDim).squareRoot(), causal: true)
        for (l, block) in blocks.enumerated() {
            if options.outputHiddenStates { hidden.append(x) }
            hooks(l, .blockInput, &x)
            var a = block.inputNorm(x)
            hooks(l, .attentionInput, &a)
            var q = block.q(a), k = block.k(a), v = block.v(a)
            hooks(l, .queryOutput, &q)
            hooks(l, .keyOutput, &k)
            hooks(l, .valueOutput, &v)
            q = rotary.apply(q, tables: angles)
            k = rotary.apply(k, tables: angles)
            let context = try core(layer: l, query: q, key: k, value: v, options: options)
            var attentionOut = block.o(context)
            hooks(l, .attentionOutput, &attentionOut)
            x = x + attentionOut
            var m = block.postAttentionNorm(x)
            hooks(l, .mlpInput, &m)
            var gate = c.activation(block.gate(m))
            hooks(l, .mlpActivation, &gate)
            var mlpOut = block.down(gate * block.up(m))
            hooks(l, .mlpOutput, &mlpOut)
            x = x + mlpOut
            hooks(l, .blockOutput, &x)
            if hooks.canStop(afterLayer: l) { return ModelOutput(output: x, hiddenStates: hidden, stoppedEarly: true) }
        }
        return head.output(x, hidden: hidden, newTokens: length, options: options, finalNorm: finalNorm.callAsFunction)
    }
}
