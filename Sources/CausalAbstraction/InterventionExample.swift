import Foundation
import Intervene
import Models
import Tensors

/// One counterfactual training or evaluation example in a model-independent form: a base and a
/// source input (or several sources, one per intervention), where to intervene in each, and the
/// label the intervened model should produce.
///
/// As a JSON line (one per line of a .jsonl file, or one element of an experiment's inline
/// `data.train`/`data.test` list):
///
///     {"base": "The capital of Spain is", "source": "The capital of Italy is", "positions": ["Spain"], "label": " Rome"}
///     {"base": [15496, 11, 616], "source": [40, 588, 616], "positions": [2, -1], "label": 3290}
///     {"base": [[0.1, …], …], "source": [[…], …], "positions": [0], "source_positions": [0], "label": 1}
///
/// `base`/`source` are a text (tokenized with the model's tokenizer, its special tokens
/// included: `encode(text, addSpecialTokens: true)`), token ids, or input embeddings (a list of
/// vectors, one per position). `positions` (base) and `source_positions` (source) apply to every
/// representation; each is a `TokenPosition`: an index (negative counts from the end), a
/// substring of the text (its last overlapping token) or `{"text": …, "occurrence": n}`.
/// `source_positions` defaults to the base's resolved indices. The label is a class or token
/// id, or a text whose first token (tokenized without special tokens) is the label; a text
/// label keeps all its tokens as `answerTokens` (`"answer_tokens"`: ids, the first the label).
/// The label is read at the last position for token inputs and from the classifier output for
/// embeddings. Unknown keys are refused.
///
/// Several sources (pyvene's multi-source interchange, intervention k reading source k) are
/// written `"sources": [s0, s1, …]` instead of `"source"`; `positions` and `source_positions`
/// are then either one list for every source or one list per source (`[[0], [2]]`):
///
///     {"base": [1, 2, 3], "sources": [[4, 5, 6], [7, 8, 9]], "positions": [[0], [2]], "label": 4}
public struct InterventionExample: Sendable, Equatable {
    public enum Input: Sendable, Equatable {
        case tokens([Int])
        case embeddings([[Float]])

        /// Positions (tokens or vectors).
        public var length: Int {
            switch self {
            case .tokens(let t): return t.count
            case .embeddings(let e): return e.count
            }
        }

        /// True for token ids.
        public var isTokens: Bool { if case .tokens = self { return true }; return false }
    }

    /// Where the interventions of one source act: positions in the base and in that source.
    public struct Locations: Sendable, Equatable, Hashable {
        public var base: [Int]
        public var source: [Int]
        public init(base: [Int], source: [Int]) {
            self.base = base
            self.source = source
        }
    }

    public var base: Input
    /// The sources, one per intervention for several (pyvene's multi-source interchange:
    /// intervention k reads source k); at least one.
    public var sources: [Input]
    /// Base positions of every source's interventions (unless `locationsBySource` says otherwise).
    public var basePositions: [Int]
    /// Source positions of every source (unless `locationsBySource` says otherwise).
    public var sourcePositions: [Int]
    /// Per source, its own base and source positions; nil: `basePositions` and
    /// `sourcePositions` for every source.
    public var locationsBySource: [Locations]?
    public var label: Int
    /// Every token of a multi-token answer, the first being `label` (from a text label or
    /// `"answer_tokens"`); nil for a label given as an id. `Metric.answerLogProbability` scores
    /// them teacher-forced.
    public var answerTokens: [Int]?

    /// The first (for single-source examples, the only) source.
    public var source: Input {
        get { sources[0] }
        set { sources[0] = newValue }
    }

    public init(base: Input, source: Input, basePositions: [Int], sourcePositions: [Int]? = nil, label: Int, answerTokens: [Int]? = nil) {
        self.init(base: base, sources: [source], basePositions: basePositions, sourcePositions: sourcePositions, label: label, answerTokens: answerTokens)
    }

    /// A multi-source example: `sources[k]` feeds the k-th intervention, at `locationsBySource[k]`
    /// when given (else at `basePositions` / `sourcePositions`, which default to each other).
    public init(base: Input, sources: [Input], basePositions: [Int], sourcePositions: [Int]? = nil,
                locationsBySource: [Locations]? = nil, label: Int, answerTokens: [Int]? = nil) {
        precondition(!sources.isEmpty, "an intervention example needs at least one source")
        precondition(locationsBySource == nil || locationsBySource!.count == sources.count, "one Locations per source")
        self.base = base
        self.sources = sources
        self.basePositions = basePositions
        self.sourcePositions = sourcePositions ?? basePositions
        self.locationsBySource = locationsBySource
        self.label = label
        self.answerTokens = answerTokens
    }

    /// Where source k's interventions act.
    public func locations(ofSource k: Int) -> Locations {
        locationsBySource?[k] ?? Locations(base: basePositions, source: sourcePositions)
    }

    /// The answer the multi-token metric scores: `answerTokens`, else the label alone.
    public var answer: [Int] { answerTokens ?? [label] }

    /// Reads a .jsonl file; a malformed line throws `ExperimentError` naming the file, the line
    /// and the field (`.textWithoutTokenizer` for text without a `tokenizer`). With `classes`
    /// (see `labelClasses(of:)`), a label or answer token outside 0..<classes throws as well.
    public static func load(jsonl path: String, classes: Int? = nil, tokenizer: (any Tokenizer)? = nil) throws -> [InterventionExample] {
        try load(jsonl: path, classes: classes, tokenizer: TokenizerProvider { tokenizer })
    }

    static func load(jsonl path: String, classes: Int?, tokenizer: TokenizerProvider) throws -> [InterventionExample] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ExperimentError.invalid(file: path, field: "(file)", value: "missing", expected: "a readable .jsonl file")
        }
        var examples: [InterventionExample] = []
        for (n, line) in String(decoding: data, as: UTF8.self).split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.isEmpty { continue }
            let site = ExampleSite(file: "\(path):\(n + 1)", fieldPrefix: "")
            let json: JSONValue
            do { json = try JSONValue.parse(text) } catch { throw site.invalid("(line)", "…", "one JSON object per line (\(error))") }
            examples.append(try parse(json, at: site, classes: classes, tokenizer: tokenizer))
        }
        guard !examples.isEmpty else { throw ExperimentError.invalid(file: path, field: "(file)", value: "empty", expected: "at least one example") }
        return examples
    }

    /// Reads examples written inline in an experiment file: `list` is the value of `field`
    /// ("data.train") in `file`; errors name the file and the field path ("data.train[3].label").
    public static func load(inline list: JSONValue, file: String, field: String, classes: Int? = nil,
                            tokenizer: (any Tokenizer)? = nil) throws -> [InterventionExample] {
        try load(inline: list, file: file, field: field, classes: classes, tokenizer: TokenizerProvider { tokenizer })
    }

    static func load(inline list: JSONValue, file: String, field: String, classes: Int?, tokenizer: TokenizerProvider) throws -> [InterventionExample] {
        guard let items = list.arrayValue, !items.isEmpty else {
            throw ExperimentError.invalid(file: file, field: field, value: list.serialized(), expected: "a non-empty list of examples")
        }
        return try items.enumerated().map { i, item in
            try parse(item, at: ExampleSite(file: file, fieldPrefix: "\(field)[\(i)]."), classes: classes, tokenizer: tokenizer)
        }
    }

    /// How many classes a label may name for `model`: the vocabulary of a language model, the
    /// classes of an MLP or GRU classifier; nil when the model does not say (encoders, custom
    /// models), where the trainer still checks labels against the output it gets.
    public static func labelClasses(of model: any HookableModel) -> Int? {
        switch model {
        case let languageModel as any CausalLanguageModel: return languageModel.vocabularySize
        case let mlp as MLPClassifier: return mlp.configuration.classes
        case let gru as GRUClassifier: return gru.configuration.labels
        default: return nil
        }
    }

    /// The example as one JSON line, the format `load(jsonl:)` reads. Inputs are written as
    /// token ids or embeddings: a text input as the ids its tokenizer made of it, positions as
    /// resolved indices, a text label as its first token with all its tokens in
    /// `"answer_tokens"`, so the line loads again without a tokenizer.
    public var jsonLine: String {
        func encode(_ input: Input) -> String {
            switch input {
            case .tokens(let t): return "[" + t.map(String.init).joined(separator: ", ") + "]"
            case .embeddings(let e): return "[" + e.map { "[" + $0.map { "\($0)" }.joined(separator: ", ") + "]" }.joined(separator: ", ") + "]"
            }
        }
        func list(_ values: [Int]) -> String { "[" + values.map(String.init).joined(separator: ", ") + "]" }
        var line = "{\"base\": \(encode(base)), "
        line += sources.count == 1 ? "\"source\": \(encode(source))" : "\"sources\": [" + sources.map(encode).joined(separator: ", ") + "]"
        if let locationsBySource {
            line += ", \"positions\": [" + locationsBySource.map { list($0.base) }.joined(separator: ", ") + "]"
            line += ", \"source_positions\": [" + locationsBySource.map { list($0.source) }.joined(separator: ", ") + "]"
        } else {
            line += ", \"positions\": \(list(basePositions))"
            if sourcePositions != basePositions { line += ", \"source_positions\": \(list(sourcePositions))" }
        }
        line += ", \"label\": \(label)"
        if let answerTokens { line += ", \"answer_tokens\": \(list(answerTokens))" }
        return line + "}"
    }
}

extension HierarchicalEqualityTask {
    /// The examples in the model-independent form: the four objects' embeddings concatenated
    /// into one input vector at position 0, labelled with the counterfactual label of `variable`.
    public func interventionExamples(_ examples: [Example], variable: Variable) -> [InterventionExample] {
        let width = HierarchicalEqualityTask.inputWidth
        func vector(_ input: [Float], _ i: Int) -> [[Float]] { [Array(input[(i * width)..<((i + 1) * width)])] }
        let bases = inputs(examples.map(\.base)).scalars, sources = inputs(examples.map(\.source)).scalars
        return examples.indices.map { i in
            InterventionExample(base: .embeddings(vector(bases, i)), source: .embeddings(vector(sources, i)), basePositions: [0],
                                label: examples[i].counterfactualLabel(variable))
        }
    }
}
