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

    /// Reads a .jsonl file; a malformed line throws naming the line and the field.
    public static func load(jsonl path: String) throws -> [InterventionExample] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ExperimentError.invalid(file: path, field: "(file)", value: "missing", expected: "a readable .jsonl file")
        }
        var examples: [InterventionExample] = []
        for (n, line) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.isEmpty { continue }
            let where_ = "\(path):\(n + 1)"
            let json: JSONValue
            do { json = try JSONValue.parse(text) } catch {
                throw ExperimentError.invalid(file: where_, field: "(line)", value: "…", expected: "one JSON object per line (\(error))")
            }
            func input(_ field: String) throws -> Input {
                guard let items = json[field]?.arrayValue, !items.isEmpty else {
                    throw ExperimentError.invalid(file: where_, field: field, value: json[field]?.serialized() ?? "missing", expected: "a non-empty list of token ids or of vectors")
                }
                if items.allSatisfy({ $0.intValue != nil }) { return .tokens(items.compactMap(\.intValue)) }
                let rows = items.map { $0.arrayValue?.compactMap(\.doubleValue).map { Float($0) } }
                guard rows.allSatisfy({ $0 != nil && $0!.count == rows[0]?.count && !$0!.isEmpty }) else {
                    throw ExperimentError.invalid(file: where_, field: field, value: "…", expected: "token ids, or vectors of one length")
                }
                return .embeddings(rows.map { $0! })
            }
            func ints(_ field: String) throws -> [Int]? {
                guard let v = json[field], !v.isNull else { return nil }
                guard let items = v.arrayValue, !items.isEmpty, items.allSatisfy({ ($0.intValue ?? -1) >= 0 }) else {
                    throw ExperimentError.invalid(file: where_, field: field, value: v.serialized(), expected: "a non-empty list of non-negative integers")
                }
                return items.compactMap(\.intValue)
            }
            guard let label = json["label"]?.intValue, label >= 0 else {
                throw ExperimentError.invalid(file: where_, field: "label", value: json["label"]?.serialized() ?? "missing", expected: "a non-negative integer")
            }
            guard let positions = try ints("positions") else {
                throw ExperimentError.invalid(file: where_, field: "positions", value: "missing", expected: "a non-empty list of non-negative integers")
            }
            examples.append(InterventionExample(base: try input("base"), source: try input("source"), basePositions: positions,
                                                sourcePositions: try ints("source_positions"), label: label))
        }
        guard !examples.isEmpty else { throw ExperimentError.invalid(file: path, field: "(file)", value: "empty", expected: "at least one example") }
        return examples
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
                    let width = first[0].count
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
