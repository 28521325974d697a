import Models

/// Renders `CounterfactualExample`s into the `InterventionExample`s the trainer's collator
/// (`InterventionExample.collator`) batches: each input setting becomes model input (token ids
/// of a text, or input vectors), the counterfactual label becomes a class or token id.
/// Examples with several sources (one per intervened variable) render to multi-source
/// `InterventionExample`s.
public struct CounterfactualTemplate {
    /// Model input of an input setting.
    public let input: (CausalSetting) throws -> InterventionExample.Input
    /// Class or token id (and, for text, every answer token) of an output value.
    public let label: (CausalValue) throws -> (id: Int, answer: [Int]?)
    /// Base positions to intervene at; `sourcePositions` nil means the same indices.
    public let basePositions: [Int]
    public let sourcePositions: [Int]?
    /// For multi-source examples: where each source's intervention acts (nil: the positions
    /// above for every source).
    public var locationsBySource: [InterventionExample.Locations]?

    public init(input: @escaping (CausalSetting) throws -> InterventionExample.Input,
                label: @escaping (CausalValue) throws -> (id: Int, answer: [Int]?),
                basePositions: [Int], sourcePositions: [Int]? = nil) {
        (self.input, self.label, self.basePositions, self.sourcePositions) = (input, label, basePositions, sourcePositions)
    }

    /// Text inputs for a language model: `text` of a setting tokenized with its special tokens,
    /// the label the first token of `answer(value)` (tokenized without special tokens; all its
    /// tokens kept as `answerTokens`). Positions are token indices (negative from the end).
    public static func text(tokenizer: any Tokenizer, basePositions: [Int], sourcePositions: [Int]? = nil,
                            text: @escaping (CausalSetting) throws -> String,
                            answer: @escaping (CausalValue) throws -> String) -> CounterfactualTemplate {
        CounterfactualTemplate(input: { .tokens(tokenizer.encode(try text($0), addSpecialTokens: true).ids) }, label: { value in
            let ids = tokenizer.encode(try answer(value), addSpecialTokens: false).ids
            guard let first = ids.first else {
                throw CausalModelError.invalidVariable(variable: "(template)", reason: "the answer text of \(value) has no tokens")
            }
            return (first, ids)
        }, basePositions: basePositions, sourcePositions: sourcePositions)
    }

    /// Vector inputs for a classifier: `vectors` of a setting (one vector per position), the
    /// label the index of the value in `classes`.
    public static func vectors(classes: [CausalValue], basePositions: [Int] = [0], sourcePositions: [Int]? = nil,
                               vectors: @escaping (CausalSetting) throws -> [[Float]]) -> CounterfactualTemplate {
        CounterfactualTemplate(input: { .embeddings(try vectors($0)) }, label: { value in
            guard let i = classes.firstIndex(of: value) else {
                throw CausalModelError.invalidVariable(variable: "(template)", reason: "label \(value) is not one of the classes \(classes.map(\.description))")
            }
            return (i, nil)
        }, basePositions: basePositions, sourcePositions: sourcePositions)
    }

    /// The example as model input, labelled with its counterfactual label. An example of several
    /// sources renders to a multi-source `InterventionExample` (source k feeds intervention k,
    /// the one aligned with `variables[k]`), each source at `locationsBySource[k]` when the
    /// template has them, else at `basePositions` / `sourcePositions`.
    public func render(_ example: CounterfactualExample) throws -> InterventionExample {
        guard !example.sources.isEmpty else {
            throw CausalModelError.invalidVariable(variable: "(template)", reason: "the example has no sources; give at least one")
        }
        if let locationsBySource, locationsBySource.count != example.sources.count {
            throw CausalModelError.invalidVariable(variable: "(template)",
                                                   reason: "\(example.sources.count) sources but locations for \(locationsBySource.count); give one per source")
        }
        let (id, answer) = try label(example.counterfactualLabel)
        return InterventionExample(base: try input(example.base), sources: try example.sources.map(input), basePositions: basePositions,
                                   sourcePositions: sourcePositions, locationsBySource: locationsBySource, label: id, answerTokens: answer)
    }

    /// Every example rendered (see `render(_:)`).
    public func render(_ examples: [CounterfactualExample]) throws -> [InterventionExample] { try examples.map(render) }
}
