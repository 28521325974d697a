import Foundation
import Intervene
import Models
import Tensors

/// One counterfactual training or evaluation example in a model-independent form: a base and a
/// source input, where to intervene in each, and the label the intervened model should produce.
///
/// As a JSON line (one per line of a .jsonl file):
///
///     {"base": [15496, 11, 616], "source": [40, 588, 616], "positions": [2], "label": 3290}
///     {"base": [[0.1, …], …], "source": [[…], …], "positions": [0], "source_positions": [0], "label": 1}
///
/// `base`/`source` are token ids, or input embeddings (a list of vectors, one per position).
/// `positions` (base) and `source_positions` (default: `positions`) apply to every
/// representation. The label is read at the last position for token inputs and from the
/// classifier output for embeddings.
public struct InterventionExample: Sendable, Equatable {
    public enum Input: Sendable, Equatable {
        case tokens([Int])
        case embeddings([[Float]])

        var length: Int {
            switch self {
            case .tokens(let t): return t.count
            case .embeddings(let e): return e.count
            }
        }
    }

    public var base: Input
    public var source: Input
    public var basePositions: [Int]
    public var sourcePositions: [Int]
    public var label: Int

    public init(base: Input, source: Input, basePositions: [Int], sourcePositions: [Int]? = nil, label: Int) {
        self.base = base
        self.source = source
        self.basePositions = basePositions
        self.sourcePositions = sourcePositions ?? basePositions
        self.label = label
    }

    /// Reads a .jsonl file; a malformed line throws `ExperimentError` naming the file, the line
    /// and the field. With `classes` (see `labelClasses(of:)`), a label outside 0..<classes
    /// throws as well.
    public static func load(jsonl path: String, classes: Int? = nil) throws -> [InterventionExample] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ExperimentError.invalid(file: path, field: "(file)", value: "missing", expected: "a readable .jsonl file")
        }
        var examples: [InterventionExample] = []
        for (n, line) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.isEmpty { continue }
            examples.append(try parse(line: text, at: "\(path):\(n + 1)", classes: classes))
        }
        guard !examples.isEmpty else { throw ExperimentError.invalid(file: path, field: "(file)", value: "empty", expected: "at least one example") }
        return examples
    }

    /// One example from one JSON line; `place` ("file:line") is where errors point.
    static func parse(line text: String, at place: String, classes: Int?) throws -> InterventionExample {
        func invalid(_ field: String, _ value: String, _ expected: String) -> ExperimentError {
            .invalid(file: place, field: field, value: value, expected: expected)
        }
        let json: JSONValue
        do { json = try JSONValue.parse(text) } catch { throw invalid("(line)", "…", "one JSON object per line (\(error))") }
        func input(_ field: String) throws -> Input {
            guard let items = json[field]?.arrayValue, !items.isEmpty else {
                throw invalid(field, json[field]?.serialized() ?? "missing", "a non-empty list of token ids or of vectors")
            }
            if items.allSatisfy({ $0.intValue != nil }) { return .tokens(items.compactMap(\.intValue)) }
            let rows = items.map { item -> [Float]? in
                guard let values = item.arrayValue, values.allSatisfy({ $0.doubleValue != nil }) else { return nil }
                return values.compactMap(\.doubleValue).map { Float($0) }
            }
            guard let width = rows[0]?.count, width > 0, rows.allSatisfy({ $0?.count == width }) else {
                throw invalid(field, "…", "token ids, or vectors of one length")
            }
            return .embeddings(rows.compactMap { $0 })
        }
        func ints(_ field: String) throws -> [Int]? {
            guard let v = json[field], !v.isNull else { return nil }
            guard let items = v.arrayValue, !items.isEmpty, items.allSatisfy({ ($0.intValue ?? -1) >= 0 }) else {
                throw invalid(field, v.serialized(), "a non-empty list of non-negative integers")
            }
            return items.compactMap(\.intValue)
        }
        guard let label = json["label"]?.intValue, label >= 0, label < classes ?? Int.max else {
            throw invalid("label", json["label"]?.serialized() ?? "missing",
                          classes.map { "a class index in 0..<\($0) (the classes of the model's output)" } ?? "a non-negative integer")
        }
        guard let positions = try ints("positions") else { throw invalid("positions", "missing", "a non-empty list of non-negative integers") }
        return InterventionExample(base: try input("base"), source: try input("source"), basePositions: positions,
                                   sourcePositions: try ints("source_positions"), label: label)
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

    /// The example as one JSON line, the format `load(jsonl:)` reads.
    public var jsonLine: String {
        func encode(_ input: Input) -> String {
            switch input {
            case .tokens(let t): return "[" + t.map(String.init).joined(separator: ", ") + "]"
            case .embeddings(let e): return "[" + e.map { "[" + $0.map { "\($0)" }.joined(separator: ", ") + "]" }.joined(separator: ", ") + "]"
            }
        }
        func list(_ values: [Int]) -> String { "[" + values.map(String.init).joined(separator: ", ") + "]" }
        var line = "{\"base\": \(encode(base)), \"source\": \(encode(source)), \"positions\": \(list(basePositions))"
        if sourcePositions != basePositions { line += ", \"source_positions\": \(list(sourcePositions))" }
        return line + ", \"label\": \(label)}"
    }

    /// A collator for `representations` interventions that all use the examples' positions,
    /// with optional per-representation subspaces (partition ids) for every example.
    public static func collator(representations: Int, subspaces: [Int]?) -> ([InterventionExample]) throws -> InterventionBatch {
        { examples in
            guard !examples.isEmpty else { throw ConfigurationError.invalidField(field: "examples", value: "[]", allowed: "at least one example per batch") }
            func batch(_ inputs: [Input], _ side: String) throws -> ModelInput {
                let length = inputs[0].length
                guard inputs.allSatisfy({ $0.length == length }) else {
                    throw ConfigurationError.invalidField(field: "\(side) inputs", value: "lengths \(Set(inputs.map(\.length)).sorted())", allowed: "one length within a batch")
                }
                switch inputs[0] {
                case .tokens:
                    let ids = try inputs.map { input -> [Int] in
                        guard case .tokens(let t) = input else { throw ConfigurationError.invalidField(field: "\(side) inputs", value: "mixed", allowed: "all token ids or all embeddings") }
                        return t
                    }
                    return .tokens(IndexTensor(shape: [ids.count, length], values: Array(ids.joined())))
                case .embeddings(let first):
                    guard let width = first.first?.count else {
                        throw ConfigurationError.invalidField(field: "\(side) inputs", value: "[]", allowed: "at least one embedding vector")
                    }
                    var values: [Float] = []
                    values.reserveCapacity(inputs.count * length * width)
                    for input in inputs {
                        guard case .embeddings(let e) = input, e.allSatisfy({ $0.count == width }) else {
                            throw ConfigurationError.invalidField(field: "\(side) inputs", value: "mixed", allowed: "embeddings of one width")
                        }
                        for row in e { values.append(contentsOf: row) }
                    }
                    return .embeddings(Tensor(shape: [inputs.count, length, width], values: values))
                }
            }
            let base = try batch(examples.map(\.base), "base"), source = try batch(examples.map(\.source), "source")
            let isTokens: Bool = { if case .tokens = examples[0].base { return true }; return false }()
            let locations = UnitLocations(Array(repeating: InterventionLocations(source: examples.map { .positions($0.sourcePositions) },
                                                                                  base: examples.map { .positions($0.basePositions) }),
                                                count: representations))
            return InterventionBatch(base: base, sources: [source], unitLocations: locations,
                                     subspaces: subspaces.map { s in Array(repeating: Array(repeating: s, count: examples.count), count: representations) },
                                     labels: examples.map(\.label), labelPosition: isTokens ? -1 : nil)
        }
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
