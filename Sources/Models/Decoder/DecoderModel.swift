import Tensors

/// The one decoder-only transformer: every family (GPT-2, GPT-NeoX, GPT-Neo, Llama, Mistral,
/// Qwen2, Gemma, Gemma 2, OLMo, and any a user registers) runs this forward pass with its own
/// `DecoderConfig` and `DecoderKeyMap`.
///
///     x = embed(ids) · scale (+ pos(positions))          (B, S, D)
///     for each layer: x = layer(x)                        every site tapped inside
///     logits = cap(norm(x) W_headᵀ)                       (B, S, V)
public final class DecoderModel: CausalLanguageModel {
    /// The configuration the model was built from.
    public let config: DecoderConfig
    /// Where checkpoints keep each weight.
    public let keyMap: DecoderKeyMap
    /// Every site the model taps (see `DecoderConfig.siteTable`).
    public let siteTable: SiteTable
    let tokenEmbedding: Embedding
    let positionEmbedding: Embedding?
    let layers: [DecoderLayer]
    let finalNorm: DecoderNorm
    let head: LanguageModelHead
    let rotary: RotaryEmbedding?
    /// Layers inserted at sites (codebooks, sparse autoencoders), part of every forward pass.
    public let insertions: SiteInsertions

    /// A model with unloaded weights (load a checkpoint, or `initializeRandomly`). Throws when
    /// the configuration is inconsistent, naming the field.
    public init(_ config: DecoderConfig, keyMap: DecoderKeyMap) throws {
        try config.validate()
        self.config = config
        self.keyMap = keyMap
        tokenEmbedding = Embedding(count: config.vocabularySize, width: config.width)
        positionEmbedding = config.positions == .learned ? Embedding(count: config.contextLength, width: config.width) : nil
        layers = (0..<config.layers).map { DecoderLayer(config, keys: keyMap, index: $0) }
        finalNorm = DecoderNorm(config.norm, width: config.width)
        head = LanguageModelHead(tiedTo: config.tiedHead ? tokenEmbedding : nil, vocabulary: config.vocabularySize, width: config.width)
        if case .rotary(let r) = config.positions {
            rotary = RotaryEmbedding(rotaryDim: r.dimensions, headDim: config.headDim, base: r.theta, scaling: r.scaling)
        } else {
            rotary = nil
        }
        siteTable = config.siteTable
        insertions = SiteInsertions(table: siteTable)
    }

    public var modelType: String { config.modelType }
    public var vocabularySize: Int { config.vocabularySize }
    public var maximumPositions: Int? { config.maximumPositions }
    /// max_position_embeddings (GGUF: context_length).
    public var contextLength: Int? { config.contextLength }

    /// Embeddings, layers ("model.layers.3"), final norm, and the inserted layers.
    public var children: [(name: String, module: any Module)] {
        var list: [(name: String, module: any Module)] = [(keyMap.tokenEmbedding, tokenEmbedding)]
        if let positionEmbedding, let name = keyMap.positionEmbedding { list.append((name, positionEmbedding)) }
        list += layers.enumerated().map { ("\(keyMap.layerPrefix).\($0.offset)", $0.element) }
        list.append((keyMap.finalNorm, finalNorm))
        return list + insertions.children
    }

    public func visitParameters(_ v: (String, Parameter) -> Void) {
        for (name, child) in children { visit(child, prefix: name, v) }
        v(keyMap.outputHead + ".weight", head.weight)
    }

    /// Inserts `layer` at `site` (see `SiteInsertions`); its parameters join the model's.
    public func insert(_ layer: any SiteLayer, at site: Site, name: String) throws {
        try insertions.insert(layer, at: site, name: name)
    }

    /// The output head is the token embedding when tied.
    public var tiedKeys: Set<String> { config.tiedHead ? [keyMap.outputHead + ".weight"] : [] }

    /// An empty key/value cache for `batchSize` sequences of up to `capacity` tokens.
    public func makeCache(batchSize: Int, capacity: Int) -> KeyValueCache {
        KeyValueCache(layers: config.layers, batchSize: batchSize, capacity: capacity, width: config.keyValueWidth)
    }

    public func forward(_ input: ModelInput, options: ForwardOptions) throws -> ModelOutput {
        let options = insertions.wrapping(options)
        let ids = try checkTokens(input, vocabulary: config.vocabularySize, model: config.modelType)
        let batch = ids.shape[0], length = ids.shape[1]
        let positions = try resolvePositions(options, batch: batch, length: length)
        var x = try embed(ids, positions: positions, hooks: options.hooks)
        let pass = DecoderPass(options: options, rotary: rotary, rotaryTables: rotary?.tables(positions))
        var hidden: [Tensor] = []
        let last = layers.count - 1
        for (l, layer) in layers.enumerated() {
            if options.outputHiddenStates { hidden.append(x) }
            x = try layer(x, layer: l, pass: pass)
            // Stopping after the last layer would skip the final-norm site and saves little.
            if l < last && options.hooks.canStop(afterLayer: l) { return ModelOutput(output: x, hiddenStates: hidden, stoppedEarly: true) }
        }
        var out = try head.output(x, hidden: hidden, newTokens: length, options: options) { x in
            var normed = self.finalNorm(x)
            try options.hooks(last, .finalNormOutput, &normed)
            return normed
        }
        if let cap = config.finalLogitSoftCap { out.output = (out.output * (1 / cap)).tanh() * cap }
        return out
    }

    /// Token embeddings, scaled, plus learned position embeddings where the model has them.
    func embed(_ ids: IndexTensor, positions: [[Int]], hooks: (any ActivationHooks)?) throws -> Tensor {
        var x = tokenEmbedding(ids)
        if let scale = config.embeddingScale { x = x * scale }
        try hooks(0, .tokenEmbedding, &x)
        guard let positionEmbedding else { return x }
        if let bad = positions.joined().first(where: { $0 < 0 || $0 >= config.contextLength }) {
            throw ModelError.invalidInput("position \(bad) is outside the \(config.contextLength) positions of this \(config.modelType) model")
        }
        var p = positionEmbedding(IndexTensor(shape: [ids.shape[0], ids.shape[1]], values: Array(positions.joined())))
        try hooks(0, .positionEmbedding, &p)
        return x + p
    }
}
