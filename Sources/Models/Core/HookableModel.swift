import Tensors

/// What a model consumes.
public enum ModelInput {
    /// Token ids, (B, S).
    case tokens(IndexTensor)
    /// Input embeddings, (B, S, width) — pyvene's `inputs_embeds` (MLP and GRU classifiers).
    case embeddings(Tensor)

    /// Batch size.
    public var batchSize: Int {
        switch self {
        case .tokens(let ids): return ids.shape.first ?? 0
        case .embeddings(let x): return x.shape.first ?? 0
        }
    }

    /// Sequence length (1 for 2-D embeddings).
    public var sequenceLength: Int {
        switch self {
        case .tokens(let ids): return ids.shape.count > 1 ? ids.shape[1] : 0
        case .embeddings(let x): return x.rank > 2 ? x.shape[1] : 1
        }
    }

    /// Rows `range` of the batch.
    public func batchSlice(_ range: Range<Int>) -> ModelInput {
        switch self {
        case .tokens(let ids):
            let width = ids.shape.dropFirst().reduce(1, *)
            return .tokens(IndexTensor(shape: [range.count] + Array(ids.shape.dropFirst()),
                                       values: Array(ids.values[(range.lowerBound * width)..<(range.upperBound * width)])))
        case .embeddings(let x):
            return .embeddings(x.narrowed(0, start: range.lowerBound, length: range.count))
        }
    }
}

/// Options of one forward pass.
public struct ForwardOptions {
    /// Per example, per key position (including cached positions): true to attend. nil: all.
    public var attentionMask: [[Bool]]?
    /// Absolute positions (B, S) of the new tokens; nil: cache length + 0..<S.
    public var positions: [[Int]]?
    /// Token type ids (B, S) for BERT; nil: zeros.
    public var tokenTypes: IndexTensor?
    /// Keys and values of earlier tokens; the pass appends to it.
    public var cache: KeyValueCache?
    /// Return every layer's hidden states.
    public var outputHiddenStates: Bool
    /// Reads or replaces activations at hook sites.
    public var hooks: (any ActivationHooks)?
    /// Language models return logits (B, 1, V) for the last position only (generation needs no
    /// more; the output head is a large share of a pass). Models without a head ignore it.
    public var logitsForLastPositionOnly = false

    public init(attentionMask: [[Bool]]? = nil, positions: [[Int]]? = nil, tokenTypes: IndexTensor? = nil,
                cache: KeyValueCache? = nil, outputHiddenStates: Bool = false, hooks: (any ActivationHooks)? = nil) {
        self.attentionMask = attentionMask
        self.positions = positions
        self.tokenTypes = tokenTypes
        self.cache = cache
        self.outputHiddenStates = outputHiddenStates
        self.hooks = hooks
    }
}

extension Tensor {
    /// For sequence outputs (B, S, C): the (B, C) slice at `position` (negative counts from the
    /// end); other outputs, or a nil position, unchanged. Where a label is read from logits.
    public func atPosition(_ position: Int?) -> Tensor {
        guard let position, rank == 3 else { return self }
        let p = position < 0 ? shape[1] + position : position
        return narrowed(1, start: p, length: 1).reshaped([shape[0], shape[2]])
    }
}

/// What a forward pass returns.
public struct ModelOutput {
    /// The model's final output: logits (B, S, V) for language models, (B, C) for classifiers,
    /// the last hidden state (B, S, width) for encoders.
    public var output: Tensor
    /// With `outputHiddenStates`: as Hugging Face's `hidden_states` (index 0 the embeddings,
    /// index L after the final norm). For recurrent models, one (B, S, width) tensor of cell
    /// outputs per layer.
    public var hiddenStates: [Tensor]
    /// True when the hooks let the model stop early: `output` is then the residual stream after
    /// the last layer run, not the model's final output.
    public var stoppedEarly: Bool

    public init(output: Tensor, hiddenStates: [Tensor] = [], stoppedEarly: Bool = false) {
        self.output = output
        self.hiddenStates = hiddenStates
        self.stoppedEarly = stoppedEarly
    }

    /// The same as `output`.
    public var logits: Tensor { output }
}

/// A model whose activations can be read and replaced at named sites.
public protocol HookableModel: Module {
    /// config.json's model_type ("gpt2", "llama", …).
    var modelType: String { get }
    /// Every component the model exposes, and its layer count.
    var siteTable: SiteTable { get }
    /// Runs the model.
    func forward(_ input: ModelInput, options: ForwardOptions) throws -> ModelOutput
}

extension HookableModel {
    /// Runs the model with default options.
    public func callAsFunction(_ input: ModelInput) throws -> ModelOutput {
        try forward(input, options: ForwardOptions())
    }

    /// Runs the model and returns the activations at `sites` from the same single pass, each in
    /// its site's view (pyvene head components (B, H, S, head_dim), TransformerLens's
    /// `attn.hook_q` (B, S, H, head_dim); per-step sites stacked as (S, B, width)). Negative layers
    /// count from the end. Hooks already in `options` run first.
    public func runWithCache(_ input: ModelInput, sites: [Site], options: ForwardOptions = ForwardOptions()) throws
        -> (output: ModelOutput, cache: [Site: Tensor]) {
        let recorder = try ActivationRecorder(sites: sites, table: siteTable)
        let output = try forward(input, options: options.addingHooks(recorder))
        return (output, recorder.activations())
    }
}

/// A decoder that predicts the next token, with a key/value cache for generation.
///
/// Conforming promises causality: every activation at position p depends on tokens 0…p only
/// (no attention to later keys). Clean source passes of `IntervenableModel` rely on it to run
/// only the positions they read.
public protocol CausalLanguageModel: HookableModel {
    /// Number of tokens in the vocabulary.
    var vocabularySize: Int { get }
    /// Longest sequence the position embeddings allow (nil: unbounded).
    var maximumPositions: Int? { get }
    /// The context the model was built for (max_position_embeddings); generation stays within
    /// it. nil: no limit beyond `maximumPositions`.
    var contextLength: Int? { get }
    /// A fresh, empty cache for `batchSize` sequences of up to `capacity` tokens.
    func makeCache(batchSize: Int, capacity: Int) -> KeyValueCache
}

extension CausalLanguageModel {
    public var contextLength: Int? { nil }
}
