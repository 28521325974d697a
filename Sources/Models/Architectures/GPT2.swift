import Tensors

/// Hyperparameters of a GPT-2 model (config.json of `GPT2LMHeadModel`).
public struct GPT2Configuration: Sendable {
    public var vocabularySize: Int
    public var positions: Int
    public var width: Int
    public var layers: Int
    public var heads: Int
    public var inner: Int
    public var layerNormEpsilon: Float
    public var activation: Activation
    public var scaleAttentionWeights: Bool
    public var scaleByInverseLayerIndex: Bool

    /// GPT-2 small (124M): width 768, 12 layers, 12 heads, vocabulary 50257, 1024 positions.
    public static let small = GPT2Configuration(vocabularySize: 50257, positions: 1024, width: 768, layers: 12, heads: 12)

    public init(vocabularySize: Int, positions: Int, width: Int, layers: Int, heads: Int, inner: Int? = nil,
                layerNormEpsilon: Float = 1e-5, activation: Activation = .geluNew) {
        self.vocabularySize = vocabularySize
        self.positions = positions
        self.width = width
        self.layers = layers
        self.heads = heads
        self.inner = inner ?? 4 * width
        self.layerNormEpsilon = layerNormEpsilon
        self.activation = activation
        self.scaleAttentionWeights = true
        self.scaleByInverseLayerIndex = false
    }

    /// Reads config.json fields.
    public init(_ c: ModelConfig) throws {
        self.init(vocabularySize: try c.int("vocab_size"), positions: try c.int("n_positions"), width: try c.int("n_embd"),
                  layers: try c.int("n_layer"), heads: try c.int("n_head"), inner: try c.optionalInt("n_inner"),
                  layerNormEpsilon: try c.float("layer_norm_epsilon", default: 1e-5, minimum: 0),
                  activation: try c.activation("activation_function", default: .geluNew))
        scaleAttentionWeights = try c.bool("scale_attn_weights", default: true)
        scaleByInverseLayerIndex = try c.bool("scale_attn_by_inverse_layer_idx", default: false)
        try c.requireDivisor("n_head", heads, of: "n_embd", width)
    }
}

/// GPT-2 (`GPT2LMHeadModel`): learned positions, pre-norm blocks, fused QKV projection stored as
/// Conv1D (in, out), tied input and output embeddings.
public final class GPT2Model: CausalLanguageModel {
    public let configuration: GPT2Configuration
    public let modelType = "gpt2"
    public let siteTable: SiteTable
    let tokenEmbedding: Embedding
    let head: LanguageModelHead
    let positionEmbedding: Embedding
    let blocks: [Block]
    let finalNorm: LayerNorm

    final class Block: Module {
        let ln1, ln2: LayerNorm
        let qkv, attentionProjection, fc, mlpProjection: Linear

        init(_ c: GPT2Configuration) {
            ln1 = LayerNorm(c.width, epsilon: c.layerNormEpsilon)
            ln2 = LayerNorm(c.width, epsilon: c.layerNormEpsilon)
            qkv = Linear(inFeatures: c.width, outFeatures: 3 * c.width, layout: .inputMajor)
            attentionProjection = Linear(inFeatures: c.width, outFeatures: c.width, layout: .inputMajor)
            fc = Linear(inFeatures: c.width, outFeatures: c.inner, layout: .inputMajor)
            mlpProjection = Linear(inFeatures: c.inner, outFeatures: c.width, layout: .inputMajor)
        }

        func visitParameters(_ v: (String, Parameter) -> Void) {
            visit(ln1, prefix: "ln_1", v)
            visit(qkv, prefix: "attn.c_attn", v)
            visit(attentionProjection, prefix: "attn.c_proj", v)
            visit(ln2, prefix: "ln_2", v)
            visit(fc, prefix: "mlp.c_fc", v)
            visit(mlpProjection, prefix: "mlp.c_proj", v)
        }
    }

    /// A model with zero weights, to be loaded (or `initializeRandomly`).
    public init(_ c: GPT2Configuration) {
        configuration = c
        tokenEmbedding = Embedding(count: c.vocabularySize, width: c.width)
        head = LanguageModelHead(tiedTo: tokenEmbedding, vocabulary: c.vocabularySize, width: c.width)
        positionEmbedding = Embedding(count: c.positions, width: c.width)
        blocks = (0..<c.layers).map { _ in Block(c) }
        finalNorm = LayerNorm(c.width, epsilon: c.layerNormEpsilon)
        siteTable = transformerSiteTable(model: "gpt2", layers: c.layers, hidden: c.width, heads: c.heads, kvHeads: c.heads,
                                         headDim: c.width / c.heads, intermediate: c.inner, maxPositions: c.positions,
                                         includeQKV: true, includeAttentionWeight: true)
    }

    public var vocabularySize: Int { configuration.vocabularySize }
    public var maximumPositions: Int? { configuration.positions }

    public func visitParameters(_ v: (String, Parameter) -> Void) {
        visit(tokenEmbedding, prefix: "transformer.wte", v)
        visit(positionEmbedding, prefix: "transformer.wpe", v)
        for (i, b) in blocks.enumerated() { visit(b, prefix: "transformer.h.\(i)", v) }
        visit(finalNorm, prefix: "transformer.ln_f", v)
        v("lm_head.weight", head.weight)
    }

    /// The output head is the token embedding.
    public var tiedKeys: Set<String> { ["lm_head.weight"] }

    /// Buffers old checkpoints carry that the model does not need.
    static func isIgnorableBuffer(_ key: String) -> Bool { key.hasSuffix(".attn.bias") || key.hasSuffix(".attn.masked_bias") }

    public func makeCache(batchSize: Int, capacity: Int) -> KeyValueCache {
        KeyValueCache(layers: configuration.layers, batchSize: batchSize, capacity: capacity, width: configuration.width)
    }

    public func forward(_ input: ModelInput, options: ForwardOptions) throws -> ModelOutput {
        let c = configuration
        let ids = try checkTokens(input, vocabulary: c.vocabularySize, model: "gpt2")
        let batch = ids.shape[0], length = ids.shape[1]
        let positions = try resolvePositions(options, batch: batch, length: length)
        if let bad = positions.joined().first(where: { $0 < 0 || $0 >= c.positions }) {
            throw ModelError.invalidInput("position \(bad) is outside the \(c.positions) positions of this gpt2 model")
        }
        let hooks = options.hooks
        var x = tokenEmbedding(ids) + positionEmbedding(IndexTensor(shape: [batch, length], values: Array(positions.joined())))
        var hidden: [Tensor] = []
        let headDim = c.width / c.heads
        for (l, block) in blocks.enumerated() {
            if options.outputHiddenStates { hidden.append(x) }
            hooks(l, .blockInput, &x)
            var a = block.ln1(x)
            hooks(l, .attentionInput, &a)
            let fused = block.qkv(a)
            var q = fused.narrowed(2, start: 0, length: c.width)
            var k = fused.narrowed(2, start: c.width, length: c.width)
            var v = fused.narrowed(2, start: 2 * c.width, length: c.width)
            hooks(l, .queryOutput, &q)
            hooks(l, .keyOutput, &k)
            hooks(l, .valueOutput, &v)
            var scale: Float = c.scaleAttentionWeights ? 1 / Float(headDim).squareRoot() : 1
            if c.scaleByInverseLayerIndex { scale /= Float(l + 1) }
            let core = AttentionCore(heads: c.heads, kvHeads: c.heads, scale: scale, causal: true)
            let context = try core(layer: l, query: q, key: k, value: v, options: options)
            var attentionOut = block.attentionProjection(context)
            hooks(l, .attentionOutput, &attentionOut)
            x = x + attentionOut
            var m = block.ln2(x)
            hooks(l, .mlpInput, &m)
            var activation = c.activation(block.fc(m))
            hooks(l, .mlpActivation, &activation)
            var mlpOut = block.mlpProjection(activation)
            hooks(l, .mlpOutput, &mlpOut)
            x = x + mlpOut
            hooks(l, .blockOutput, &x)
            if hooks.canStop(afterLayer: l) { return ModelOutput(output: x, hiddenStates: hidden, stoppedEarly: true) }
        }
        return head.output(x, hidden: hidden, newTokens: length, options: options, finalNorm: finalNorm.callAsFunction)
    }
}
