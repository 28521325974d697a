import Tensors

/// Everything that distinguishes one decoder-only transformer family from another, named for
/// what it does. One `DecoderModel` runs every configuration; a family (GPT-2, Llama, Gemma 2, …)
/// is only a mapping from its config.json to a `DecoderConfig` plus a `DecoderKeyMap`.
///
/// Shapes: width D = `width`, H query heads and Hkv key/value heads of `headDim` each, MLP
/// hidden width `intermediate`, vocabulary V.
public struct DecoderConfig: Sendable, Equatable {
    /// config.json's model_type (used in messages and site tables).
    public var modelType: String
    /// Token ids are 0..<vocabularySize.
    public var vocabularySize: Int
    /// Residual stream width D.
    public var width: Int
    /// Number of transformer blocks.
    public var layers: Int
    /// Query heads H.
    public var heads: Int
    /// Key/value heads Hkv (a divisor of H: grouped-query or multi-query attention).
    public var kvHeads: Int
    /// Width of one head (may differ from D / H, as in Gemma 2).
    public var headDim: Int
    /// MLP hidden width.
    public var intermediate: Int
    /// Longest context the model was built for (config.json's max_position_embeddings): the size
    /// of a learned position table, and the width pyvene gives attention-weight sites.
    public var contextLength: Int
    /// The normalisation every norm of the model uses.
    public var norm: NormKind
    /// How q, k and v are projected.
    public var projection: ProjectionLayout
    /// How every linear map's weight is stored: (out, in) like torch.nn.Linear, or (in, out)
    /// like GPT-2's Conv1D.
    public var weightLayout: WeightLayout
    /// Which linear maps carry a bias.
    public var bias: ProjectionBias
    /// How positions enter the model.
    public var positions: PositionEncoding
    /// Attention options.
    public var attention: AttentionOptions
    /// The feed-forward form.
    public var mlp: FeedForwardKind
    /// How the two sub-blocks are wired into the residual stream.
    public var residual: ResidualForm
    /// Token embeddings are multiplied by this (Gemma: √D); nil: by nothing.
    public var embeddingScale: Float?
    /// Logits become c·tanh(logits / c) (Gemma 2); nil: unchanged.
    public var finalLogitSoftCap: Float?
    /// The output head is the token embedding matrix.
    public var tiedHead: Bool

    /// A configuration; `kvHeads` defaults to `heads` and `headDim` to width / heads. Checked
    /// by `validate()` (and by `DecoderModel.init`).
    public init(modelType: String, vocabularySize: Int, width: Int, layers: Int, heads: Int, kvHeads: Int? = nil,
                headDim: Int? = nil, intermediate: Int, contextLength: Int, norm: NormKind,
                projection: ProjectionLayout = .separate, weightLayout: WeightLayout = .outputMajor,
                bias: ProjectionBias = .none, positions: PositionEncoding, attention: AttentionOptions = AttentionOptions(),
                mlp: FeedForwardKind, residual: ResidualForm = .sequential, embeddingScale: Float? = nil,
                finalLogitSoftCap: Float? = nil, tiedHead: Bool) {
        self.modelType = modelType
        self.vocabularySize = vocabularySize
        self.width = width
        self.layers = layers
        self.heads = heads
        self.kvHeads = kvHeads ?? heads
        self.headDim = headDim ?? (heads > 0 ? width / heads : 0)  // 0 fails validate()
        self.intermediate = intermediate
        self.contextLength = contextLength
        self.norm = norm
        self.projection = projection
        self.weightLayout = weightLayout
        self.bias = bias
        self.positions = positions
        self.attention = attention
        self.mlp = mlp
        self.residual = residual
        self.embeddingScale = embeddingScale
        self.finalLogitSoftCap = finalLogitSoftCap
        self.tiedHead = tiedHead
    }

    /// Width of all query heads together (H · headDim).
    public var queryWidth: Int { heads * headDim }
    /// Width of all key (or value) heads together (Hkv · headDim).
    public var keyValueWidth: Int { kvHeads * headDim }
    /// Longest sequence the position embeddings allow (learned positions only).
    public var maximumPositions: Int? { positions == .learned ? contextLength : nil }
}

/// The normalisation of a decoder (every norm of a model has the same kind).
public enum NormKind: Sendable, Equatable {
    /// (x − mean) / √(var + ε) · w + b (GPT-2, GPT-NeoX, GPT-Neo).
    case layerNorm(epsilon: Float)
    /// The same without learned scale or shift (OLMo).
    case nonParametricLayerNorm(epsilon: Float)
    /// x / √(mean(x²) + ε) · w (Llama, Mistral, Qwen2).
    case rmsNorm(epsilon: Float)
    /// x / √(mean(x²) + ε) · (1 + w), the weight stored as an offset from one (Gemma, Gemma 2).
    case rmsNormPlusOne(epsilon: Float)
}

/// How q, k and v come out of the attention input.
public enum ProjectionLayout: Sendable, Equatable {
    /// One matrix whose output is [q | k | v] (GPT-2's c_attn).
    case fused
    /// One (out, in) matrix whose output is laid out per head, [q_h | k_h | v_h] for each head h
    /// (GPT-NeoX's query_key_value).
    case fusedPerHead
    /// Three (out, in) matrices q_proj, k_proj, v_proj.
    case separate
}

/// Which linear maps have a bias.
public struct ProjectionBias: Sendable, Equatable {
    /// Biases of the q, k, v and attention-output projections.
    public var query, key, value, output: Bool
    /// Biases of the MLP's input (up and gate) and output (down) projections.
    public var mlpIn, mlpOut: Bool

    /// Biases switched one by one.
    public init(query: Bool, key: Bool, value: Bool, output: Bool, mlpIn: Bool, mlpOut: Bool) {
        self.query = query
        self.key = key
        self.value = value
        self.output = output
        self.mlpIn = mlpIn
        self.mlpOut = mlpOut
    }

    /// Every projection has a bias.
    public static let all = ProjectionBias(query: true, key: true, value: true, output: true, mlpIn: true, mlpOut: true)
    /// No projection has a bias.
    public static let none = ProjectionBias(query: false, key: false, value: false, output: false, mlpIn: false, mlpOut: false)

    /// Attention and MLP biases switched together.
    public static func attention(_ attention: Bool, mlp: Bool) -> ProjectionBias {
        ProjectionBias(query: attention, key: attention, value: attention, output: attention, mlpIn: mlp, mlpOut: mlp)
    }
}

/// How token positions enter a decoder.
public enum PositionEncoding: Sendable, Equatable {
    /// A learned (contextLength × D) table added to the token embeddings (GPT-2, GPT-Neo).
    case learned
    /// Rotary embeddings on q and k inside attention.
    case rotary(RotaryOptions)
}

/// Rotary embedding options.
public struct RotaryOptions: Sendable, Equatable {
    /// Features rotated per head (even, ≤ headDim); the rest pass unchanged.
    public var dimensions: Int
    /// The frequency base θ.
    public var theta: Float
    /// Frequency rescaling for long contexts.
    public var scaling: RopeScaling

    /// Rotary options; `dimensions` features of each head rotate.
    public init(dimensions: Int, theta: Float, scaling: RopeScaling = .none) {
        self.dimensions = dimensions
        self.theta = theta
        self.scaling = scaling
    }
}

/// The query scale of attention scores.
public enum QueryScale: Sendable, Equatable {
    /// 1 / √headDim.
    case inverseSquareRootHeadDim
    /// 1 / √s for a given s (Gemma's `query_pre_attn_scalar`).
    case inverseSquareRoot(Float)
    /// Scores are not scaled (GPT-Neo).
    case none
}

/// Attention options of a decoder.
public struct AttentionOptions: Sendable, Equatable {
    /// Sliding window per layer: query i sees keys j with i − W < j ≤ i; nil entries (or an
    /// empty list) attend to every earlier key.
    public var windows: [Int?]
    /// Scores become c·tanh(s / c) before the mask (Gemma 2); nil: unchanged.
    public var logitSoftCap: Float?
    /// How scores are scaled.
    public var queryScale: QueryScale
    /// GPT-2's `scale_attn_by_inverse_layer_idx`: layer l's scores are further divided by l + 1.
    public var scaleByInverseLayerIndex: Bool
    /// q, k and v are clamped to [−c, c] after their projections (OLMo's `clip_qkv`).
    public var qkvClip: Float?

    /// Attention options (defaults: no window, no cap, 1/√headDim).
    public init(windows: [Int?] = [], logitSoftCap: Float? = nil, queryScale: QueryScale = .inverseSquareRootHeadDim,
                scaleByInverseLayerIndex: Bool = false, qkvClip: Float? = nil) {
        self.windows = windows
        self.logitSoftCap = logitSoftCap
        self.queryScale = queryScale
        self.scaleByInverseLayerIndex = scaleByInverseLayerIndex
        self.qkvClip = qkvClip
    }

    /// The window of layer `l`, if any.
    public func window(layer l: Int) -> Int? { l < windows.count ? windows[l] : nil }
}

/// The MLP of a decoder layer.
public enum FeedForwardKind: Sendable, Equatable {
    /// down(act(up(x))) (GPT-2, GPT-NeoX, GPT-Neo).
    case plain(Activation)
    /// down(act(gate(x)) ⊙ up(x)) (Llama, Mistral, Qwen2, Gemma, OLMo).
    case gated(Activation)
}

/// How attention and MLP sub-blocks join the residual stream.
public enum ResidualForm: Sendable, Equatable {
    /// x += attn(n₁(x)); x += mlp(n₂(x)).
    case sequential
    /// x += attn(n₁(x)) + mlp(n₂(x)), both read the block input (GPT-NeoX's
    /// use_parallel_residual); with `sharedNorm`, n₂ = n₁ (GPT-J style).
    case parallel(sharedNorm: Bool)
    /// Gemma 2: x += n₂(attn(n₁(x))); x += n₄(mlp(n₃(x))) — post-norms on each sub-block's
    /// output before it joins the residual stream.
    case sandwich
}
