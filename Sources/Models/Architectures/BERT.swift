import Tensors

/// Hyperparameters of a BERT encoder (`BertModel`).
public struct BERTConfiguration: Sendable {
    public var vocabularySize: Int
    public var positions: Int
    public var typeVocabularySize: Int
    public var width: Int
    public var layers: Int
    public var heads: Int
    public var intermediate: Int
    public var layerNormEpsilon: Float
    public var activation: Activation

    /// Reads config.json fields.
    public init(_ c: ModelConfig) throws {
        vocabularySize = try c.int("vocab_size")
        positions = try c.int("max_position_embeddings")
        typeVocabularySize = try c.optionalInt("type_vocab_size") ?? 2
        width = try c.int("hidden_size")
        layers = try c.int("num_hidden_layers")
        heads = try c.int("num_attention_heads")
        intermediate = try c.int("intermediate_size")
        layerNormEpsilon = try c.float("layer_norm_eps", default: 1e-12, minimum: 0)
        activation = try c.activation("hidden_act", default: .gelu)
        try c.requireDivisor("num_attention_heads", heads, of: "hidden_size", width)
        if let kind = c.json["position_embedding_type"]?.stringValue, kind != "absolute" {
            throw ModelError.invalidConfig(path: c.path, field: "position_embedding_type", value: "\"\(kind)\"", expected: "\"absolute\"")
        }
    }
}

/// A BERT encoder (`BertModel`, as used by sentence-transformers): post-norm blocks with
/// bidirectional attention and padding masks. Its output is the last hidden state.
///
/// Sites follow pyvene's BERT mapping: `attention_output` is the attention sublayer after its
/// residual add and LayerNorm, and `mlp_output` the MLP sublayer after its residual add and
/// LayerNorm (both are module outputs in Hugging Face's BERT). `mlp_input` is the input of the
/// `intermediate` module: replacing it changes what the MLP reads, while the residual add of
/// the `output` module keeps the unpatched attention output.
public final class BERTModel: HookableModel {
    public let configuration: BERTConfiguration
    public let modelType = "bert"
    public let siteTable: SiteTable
    /// "" for checkpoints of a bare BertModel, "bert." inside task models.
    public var keyPrefix: String
    let wordEmbeddings, positionEmbeddings, typeEmbeddings: Embedding
    let embeddingNorm: LayerNorm
    let blocks: [Block]

    /// A post-norm encoder block built from the decoder's attention and MLP parts.
    final class Block: Module {
        let attention: AttentionProjections
        let mlp: FeedForward
        let attentionNorm, outputNorm: LayerNorm

        init(_ c: BERTConfiguration) {
            attention = AttentionProjections(width: c.width, heads: c.heads, kvHeads: c.heads, headDim: c.width / c.heads,
                                             layout: .separate, bias: .all, weightLayout: .outputMajor, query: "attention.self.query",
                                             key: "attention.self.key", value: "attention.self.value", output: "attention.output.dense")
            mlp = FeedForward(width: c.width, intermediate: c.intermediate, kind: .plain(c.activation), inBias: true, outBias: true,
                              weightLayout: .outputMajor, up: "intermediate.dense", down: "output.dense")
            attentionNorm = LayerNorm(c.width, epsilon: c.layerNormEpsilon)
            outputNorm = LayerNorm(c.width, epsilon: c.layerNormEpsilon)
        }

        var children: [(name: String, module: any Module)] {
            attention.children + [("attention.output.LayerNorm", attentionNorm)] + mlp.children + [("output.LayerNorm", outputNorm)]
        }

        func visitParameters(_ v: (String, Parameter) -> Void) {
            for (name, child) in children { visit(child, prefix: name, v) }
        }
    }

    public init(_ c: BERTConfiguration, keyPrefix: String = "") {
        configuration = c
        self.keyPrefix = keyPrefix
        wordEmbeddings = Embedding(count: c.vocabularySize, width: c.width)
        positionEmbeddings = Embedding(count: c.positions, width: c.width)
        typeEmbeddings = Embedding(count: c.typeVocabularySize, width: c.width)
        embeddingNorm = LayerNorm(c.width, epsilon: c.layerNormEpsilon)
        blocks = (0..<c.layers).map { _ in Block(c) }
        siteTable = transformerSiteTable(model: "bert", layers: c.layers, hidden: c.width, heads: c.heads, kvHeads: c.heads,
                                         headDim: c.width / c.heads, intermediate: c.intermediate, maxPositions: c.positions,
                                         includeQKV: true, includeAttentionWeight: true)
    }

    public func visitParameters(_ v: (String, Parameter) -> Void) {
        visit(wordEmbeddings, prefix: keyPrefix + "embeddings.word_embeddings", v)
        visit(positionEmbeddings, prefix: keyPrefix + "embeddings.position_embeddings", v)
        visit(typeEmbeddings, prefix: keyPrefix + "embeddings.token_type_embeddings", v)
        visit(embeddingNorm, prefix: keyPrefix + "embeddings.LayerNorm", v)
        for (i, b) in blocks.enumerated() { visit(b, prefix: keyPrefix + "encoder.layer.\(i)", v) }
    }

    static func isIgnorableKey(_ key: String) -> Bool {
        key.hasSuffix("embeddings.position_ids") || key.contains("pooler.") || key.hasPrefix("cls.")
    }

    public func forward(_ input: ModelInput, options: ForwardOptions) throws -> ModelOutput {
        let c = configuration
        let ids = try checkTokens(input, vocabulary: c.vocabularySize, model: "bert")
        let batch = ids.shape[0], length = ids.shape[1]
        guard length <= c.positions else {
            throw ModelError.invalidInput("sequence of \(length) tokens exceeds the \(c.positions) positions of this bert model")
        }
        let types = options.tokenTypes ?? IndexTensor(shape: [batch, length], values: Array(repeating: 0, count: batch * length))
        guard types.shape == [batch, length], types.values.allSatisfy({ $0 >= 0 && $0 < c.typeVocabularySize }) else {
            throw ModelError.invalidInput("token types must be (B, S) = (\(batch), \(length)) with values in 0..<\(c.typeVocabularySize)")
        }
        let positions = IndexTensor(shape: [batch, length], values: Array((0..<batch).map { _ in Array(0..<length) }.joined()))
        let hooks = options.hooks
        var x = embeddingNorm(wordEmbeddings(ids) + positionEmbeddings(positions) + typeEmbeddings(types))
        var hidden: [Tensor] = options.outputHiddenStates ? [x] : []
        let core = AttentionCore(heads: c.heads, kvHeads: c.heads, scale: 1 / Float(c.width / c.heads).squareRoot(), causal: false)
        for (l, block) in blocks.enumerated() {
            try hooks(l, .blockInput, &x)
            var a = x
            try hooks(l, .attentionInput, &a)
            var (q, k, v) = block.attention.project(a)
            try hooks(l, .queryOutput, &q)
            try hooks(l, .keyOutput, &k)
            try hooks(l, .valueOutput, &v)
            let context = try core(layer: l, query: q, key: k, value: v, options: options)
            var attended = block.attentionNorm(block.attention.output(context) + a)
            try hooks(l, .attentionOutput, &attended)
            // mlp_input is the input of the intermediate module only (pyvene hooks
            // layer.{L}.intermediate); the residual add keeps the unpatched attention output.
            var m = attended
            try hooks(l, .mlpInput, &m)
            let transformed = try block.mlp(m) { tap, activation in try hooks(l, tap, &activation) }
            var out = block.outputNorm(transformed + attended)
            try hooks(l, .mlpOutput, &out)
            x = out
            try hooks(l, .blockOutput, &x)
            if hooks.canStop(afterLayer: l) { return ModelOutput(output: x, hiddenStates: hidden, stoppedEarly: true) }
            if options.outputHiddenStates { hidden.append(x) }
        }
        return ModelOutput(output: x, hiddenStates: hidden)
    }

    /// Sentence embeddings as sentence-transformers computes them for mean pooling: the mean of
    /// the last hidden state over tokens whose mask is true (special tokens included), then L2
    /// normalisation. Shapes: hidden (B, S, width), mask (B, S) → (B, width).
    public static func meanPooledEmbeddings(_ hidden: Tensor, mask: [[Bool]], normalize: Bool = true) -> Tensor {
        let maskTensor = Tensor(shape: [hidden.shape[0], hidden.shape[1], 1], values: mask.joined().map { $0 ? 1 : 0 })
        let summed = (hidden * maskTensor).sum(axis: 1)
        let counts = maskTensor.sum(axis: 1).clamped(min: 1e-9, max: .greatestFiniteMagnitude)
        let mean = summed / counts
        guard normalize else { return mean }
        let norms = mean.square().sum(axis: 1, keepDims: true).sqrt().clamped(min: 1e-12, max: .greatestFiniteMagnitude)
        return mean / norms
    }
}
