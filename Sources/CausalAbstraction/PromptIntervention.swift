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
        /// The base prompt's tokens, each decoded to its text.
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
    /// the prompt: the last token overlapping its first occurrence); `sourcePosition` is found
    /// the same way in the source prompt (default: the base's resolved index).
    public func run(prompt: String, source: String?, site: Site, position: String, sourcePosition: String? = nil,
                    kind: Kind, scale: Float = 1, topK: Int = 5, answers: [String] = []) throws -> Result {
        let baseText = TokenizedText(prompt, tokenizer: tokenizer)
        let base = baseText.encoding
        guard !base.ids.isEmpty else { throw ExperimentError.invalid(file: "--prompt", field: "prompt", value: "\"\(prompt)\"", expected: "text with at least one token") }
        let p = try TokenPosition.resolve(position, in: baseText, field: "--pos")
        var sourceIds: [Int]?, s: Int?
        if kind.needsSource {
            guard let source else {
                throw ExperimentError.invalid(file: "--source", field: "source", value: "missing", expected: "a source prompt for the \(kind.rawValue) intervention")
            }
            let sourceText = TokenizedText(source, tokenizer: tokenizer)
            guard !sourceText.encoding.ids.isEmpty else {
                throw ExperimentError.invalid(file: "--source", field: "source", value: "\"\(source)\"", expected: "text with at least one token")
            }
            sourceIds = sourceText.encoding.ids
            s = try TokenPosition.resolve(sourcePosition ?? "\(p)", in: sourceText, field: "--source-pos")
        }
        let intervenable = try IntervenableModel(config: config(site: site, kind: kind), model: model, prebuilt: [0: intervention(kind, scale: scale)])
        let baseInput = ModelInput.tokens(IndexTensor(shape: [1, base.ids.count], values: base.ids))
        let sources = sourceIds.map { [ModelInput.tokens(IndexTensor(shape: [1, $0.count], values: $0))] }
        let locations = UnitLocations.positions(source: s.map { [[$0]] }, base: [[p]])
        let out = try Tensor.withoutGradients {
            try intervenable.forward(base: baseInput, sources: sources, unitLocations: locations, outputOriginal: true)
        }
        let before = out.original!.logits.atPosition(-1), after = out.intervened.logits.atPosition(-1)
        let answerIds = try answers.map { answer -> (String, Int) in
            let ids = tokenizer.encode(answer, addSpecialTokens: false).ids
            guard ids.count == 1 else {
                let pieces = ids.map { String(reflecting: tokenizer.decode([$0], skipSpecialTokens: false)) }.joined(separator: " ")
                throw ExperimentError.invalid(file: "--answer", field: "answer", value: "\"\(answer)\"",
                                              expected: "one token (its logit is compared); it is \(ids.count) tokens: \(pieces)")
            }
            return (answer, ids[0])
        }
        return Result(baseTokens: base.ids.map { tokenizer.decode([$0], skipSpecialTokens: false) }, position: p, sourcePosition: s, before: top(before, topK), after: top(after, topK),
                      answers: answerIds.map { ($0.0, $0.1, before.scalars[$0.1], after.scalars[$0.1]) })
    }

    /// The config of one representation at `site` with unit "pos" (the intervention is prebuilt).
    func config(site: Site, kind: Kind) throws -> IntervenableConfig {
        let resolved = try model.siteTable.resolved(site)
        let spec = try model.siteTable.spec(for: resolved)
        guard !spec.isHeadMajor else {
            throw ExperimentError.invalid(file: "--site", field: "site", value: "\(site)",
                                          expected: "a site laid out (batch, positions, …) — \(spec.component.rawValue) is (batch, heads, …); use its merged form (e.g. attention_value_output or attn.hook_z)")
        }
        return IntervenableConfig(RepresentationConfig(layer: resolved.layer, component: resolved.component), interventionType: .vanilla)
    }

    /// The intervention of `kind`: base ← source, base ± scale·source, 0, or scale·base.
    func intervention(_ kind: Kind, scale: Float) -> any Intervention {
        func source(_ s: Tensor?) throws -> Tensor {
            guard let s else { throw InterventionError.missingSource(intervention: kind.rawValue) }
            return s
        }
        switch kind {
        case .vanilla: return ClosureIntervention { _, s, _ in try source(s) }
        case .addition: return ClosureIntervention { b, s, _ in b + (try source(s)) * scale }
        case .subtraction: return ClosureIntervention { b, s, _ in b - (try source(s)) * scale }
        case .zero: return ClosureIntervention(needsSource: false) { b, _, _ in b * 0 }
        case .scale: return ClosureIntervention(needsSource: false) { b, _, _ in b * scale }
        }
    }

    /// The k most likely next tokens of one row of logits (1, V).
    func top(_ logits: Tensor, _ k: Int) -> [Candidate] {
        let row = logits.reshaped([logits.count])
        let probabilities = row.softmax().scalars, values = row.scalars
        let ids = values.withUnsafeBufferPointer { Tensor.largestIndices($0, k: Swift.min(k, values.count)) }
        return ids.map { Candidate(id: $0, text: tokenizer.decode([$0], skipSpecialTokens: false), probability: probabilities[$0], logit: values[$0]) }
    }
}

extension TokenPosition {
    /// A position as a command line writes it: an integer ("3", "-1" for the last token) or a
    /// substring of the text (its first occurrence's last token).
    public init(commandLine spec: String) {
        self = Int(spec).map { .index($0) } ?? .substring(spec, occurrence: 1)
    }

    /// The token index `spec` names in `text`; throws naming `field`, the value and the tokens.
    public static func resolve(_ spec: String, in text: TokenizedText, field: String) throws -> Int {
        let n = text.encoding.ids.count
        guard let index = TokenPosition(commandLine: spec).resolve(length: n, text: text) else {
            let expected = Int(spec) != nil ? "an index in -\(n)..<\(n)" : "an index, or a substring of the text"
            throw ExperimentError.invalid(file: field, field: "position", value: Int(spec) != nil ? spec : quoted(spec),
                                          expected: "\(expected); tokens: \(text.tokenList)")
        }
        return index
    }
}
