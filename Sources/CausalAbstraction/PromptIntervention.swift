import Foundation
import Intervene
import Models
import Tensors

/// One intervention on one prompt of a language model, as a researcher runs it from the command
/// line: tokenize a base prompt (and a source prompt), intervene at a site and a position, and
/// compare the next-token distribution before and after.
public struct PromptIntervention {
    /// What is done at the site.
    public enum Kind: String, CaseIterable, Sendable {
        /// base ← source (interchange; needs a source prompt).
        case vanilla
        /// base + scale · source (needs a source prompt).
        case addition
        /// base − scale · source (needs a source prompt).
        case subtraction
        /// base ← 0.
        case zero
        /// base ← scale · base.
        case scale

        var needsSource: Bool { self == .vanilla || self == .addition || self == .subtraction }
    }

    /// One candidate next token.
    public struct Candidate: Equatable, Sendable {
        public let id: Int
        public let text: String
        public let probability: Float
        public let logit: Float
    }

    /// The outcome: top-k next tokens before and after, and the logits of the answers asked for.
    public struct Result {
        public let baseTokens: [String]
        public let position: Int
        public let sourcePosition: Int?
        public let before: [Candidate]
        public let after: [Candidate]
        /// Per answer: (answer, its first token id, logit before, logit after).
        public let answers: [(answer: String, id: Int, before: Float, after: Float)]
    }

    public let model: any HookableModel
    public let tokenizer: any Tokenizer

    public init(model: any HookableModel, tokenizer: any Tokenizer) {
        self.model = model
        self.tokenizer = tokenizer
    }

    /// Runs `kind` at `site` and `position` (an index, negative from the end, or a substring of
    /// the prompt: the last token overlapping its first occurrence); the source position is
    /// found the same way in the source prompt (default: the same spec).
    public func run(prompt: String, source: String?, site: Site, position: String, sourcePosition: String? = nil,
                    kind: Kind, scale: Float = 1, topK: Int = 5, answers: [String] = []) throws -> Result {
        let base = tokenizer.encode(prompt)
        guard !base.ids.isEmpty else { throw ExperimentError.invalid(file: "--prompt", field: "prompt", value: "\"\(prompt)\"", expected: "text with at least one token") }
        let p = try TokenPosition.resolve(position, in: prompt, encoding: base, field: "--pos")
        var sourceIds: [Int]?, s: Int?
        if kind.needsSource {
            guard let source else {
                throw ExperimentError.invalid(file: "--source", field: "source", value: "missing", expected: "a source prompt for the \(kind.rawValue) intervention")
            }
            let encoded = tokenizer.encode(source)
            sourceIds = encoded.ids
            s = try TokenPosition.resolve(sourcePosition ?? position, in: source, encoding: encoded, field: "--source-pos")
        }
        let intervenable = try IntervenableModel(config: config(site: site, kind: kind), model: model,
                                                 prebuilt: kind == .scale ? [0: ClosureIntervention(needsSource: false) { b, _, _ in b * scale }] : [:])
        let baseInput = ModelInput.tokens(IndexTensor(shape: [1, base.ids.count], values: base.ids))
        let sources = sourceIds.map { [ModelInput.tokens(IndexTensor(shape: [1, $0.count], values: $0))] }
        let locations = UnitLocations.positions(source: s.map { [[$0]] }, base: [[p]])
        let out = try Tensor.withoutGradients {
            try intervenable.forward(base: baseInput, sources: sources, unitLocations: locations, outputOriginal: true)
        }
        let before = out.original!.logits.atPosition(-1), after = out.intervened.logits.atPosition(-1)
        let answerIds = try answers.map { answer -> (String, Int) in
            guard let id = tokenizer.encode(answer, addSpecialTokens: false).ids.first else {
                throw ExperimentError.invalid(file: "--answer", field: "answer", value: "\"\(answer)\"", expected: "text with at least one token")
            }
            return (answer, id)
        }
        return Result(baseTokens: base.tokens, position: p, sourcePosition: s, before: top(before, topK), after: top(after, topK),
                      answers: answerIds.map { ($0.0, $0.1, before.scalars[$0.1], after.scalars[$0.1]) })
    }

    /// The config of one representation at `site` with unit "pos".
    func config(site: Site, kind: Kind) throws -> IntervenableConfig {
        let resolved = try model.siteTable.resolved(site)
        let type: InterventionType
        switch kind {
        case .vanilla: type = .vanilla
        case .addition: type = .addition
        case .subtraction: type = .subtraction
        case .zero: type = .zero
        case .scale: type = .vanilla  // replaced by a prebuilt closure
        }
        return IntervenableConfig(RepresentationConfig(layer: resolved.layer, component: resolved.component), interventionType: type)
    }

    /// The k most likely next tokens of one row of logits (1, V).
    func top(_ logits: Tensor, _ k: Int) -> [Candidate] {
        let row = logits.reshaped([logits.count])
        let probabilities = row.softmax().scalars, values = row.scalars
        let ids = values.withUnsafeBufferPointer { Tensor.largestIndices($0, k: Swift.min(k, values.count)) }
        return ids.map { Candidate(id: $0, text: tokenizer.decode([$0], skipSpecialTokens: false), probability: probabilities[$0], logit: values[$0]) }
    }
}

/// A token position written by a person: an index, a negative index from the end, or a substring.
public enum TokenPosition {
    /// The token index `spec` names in `text` encoded as `encoding`: "3", "-1" (the last token),
    /// or a substring of `text` (the last token overlapping its first occurrence). Throws naming
    /// `field`, the value and the text's tokens.
    public static func resolve(_ spec: String, in text: String, encoding: Encoding, field: String) throws -> Int {
        let n = encoding.ids.count
        let tokens = encoding.tokens.enumerated().map { "\($0.offset):\($0.element)" }.joined(separator: " ")
        if let index = Int(spec) {
            let resolved = index < 0 ? n + index : index
            guard resolved >= 0 && resolved < n else {
                throw ExperimentError.invalid(file: field, field: "position", value: spec, expected: "an index in -\(n)..<\(n) of the tokens \(tokens)")
            }
            return resolved
        }
        let scalars = Array(text.unicodeScalars), needle = Array(spec.unicodeScalars)
        guard !needle.isEmpty, let start = (0...Swift.max(0, scalars.count - needle.count)).first(where: {
            $0 + needle.count <= scalars.count && Array(scalars[$0..<($0 + needle.count)]) == needle
        }) else {
            throw ExperimentError.invalid(file: field, field: "position", value: "\"\(spec)\"", expected: "an index or a substring of the text; tokens: \(tokens)")
        }
        let span = start..<(start + needle.count)
        guard let last = encoding.offsets.indices.last(where: { encoding.offsets[$0].overlaps(span) }) else {
            throw ExperimentError.invalid(file: field, field: "position", value: "\"\(spec)\"", expected: "a substring covered by a token; tokens: \(tokens)")
        }
        return last
    }
}
