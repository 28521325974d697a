import Foundation
import Models

/// An attribution question as a person writes it: a prompt, the answer it should predict (a
/// target), optionally a distractor answer and a source prompt — resolved to token ids with
/// typed errors naming the bad argument.
public struct AttributionPrompt {
    /// What the metric measures, before the answers are tokenized.
    public enum MetricChoice: String, CaseIterable, Sendable {
        /// logit(target) − logit(distractor) (needs a distractor).
        case difference = "logit-diff"
        /// logit(target).
        case logit
        /// −log p(target).
        case loss
    }

    /// The base prompt's token ids and the text of each token.
    public let base: [Int]
    public let baseTokens: [String]
    /// The source prompt's token ids (as many as the base), when given.
    public let source: [Int]?
    public let sourceTokens: [String]?
    /// The metric with the answers' token ids.
    public let metric: AttributionMetric
    /// The metric in words: `logit(" Paris") − logit(" Rome")`.
    public let label: String

    /// Tokenizes `prompt` (and `source`), and `target` and `distractor` as single tokens.
    /// Throws `ExperimentError.invalid` naming the argument (`--prompt`, `--source`, `--target`,
    /// `--distractor`) when a prompt is empty, an answer is not exactly one token, the source's
    /// token count differs from the base's, or the metric needs a distractor that is missing.
    public init(tokenizer: any Tokenizer, prompt: String, source: String?, target: String, distractor: String?,
                metric choice: MetricChoice = .difference) throws {
        func tokens(_ text: String, field: String) throws -> TokenizedText {
            let t = TokenizedText(text, tokenizer: tokenizer)
            guard !t.encoding.ids.isEmpty else { throw ExperimentError.invalid(file: field, field: "prompt", value: quoted(text), expected: "text with at least one token") }
            return t
        }
        func answer(_ text: String, field: String) throws -> Int { try TracingPrompt.answerToken(text, tokenizer: tokenizer, field: field) }
        let baseText = try tokens(prompt, field: "--prompt")
        base = baseText.encoding.ids
        baseTokens = base.map { tokenizer.decode([$0], skipSpecialTokens: false) }
        if let source {
            let sourceText = try tokens(source, field: "--source")
            guard sourceText.encoding.ids.count == base.count else {
                throw ExperimentError.invalid(file: "--source", field: "source", value: "\(quoted(source)) (\(sourceText.encoding.ids.count) tokens: \(sourceText.tokenList))",
                                              expected: "as many tokens as the prompt (\(base.count): \(baseText.tokenList)), so that positions line up")
            }
            self.source = sourceText.encoding.ids
            sourceTokens = sourceText.encoding.ids.map { tokenizer.decode([$0], skipSpecialTokens: false) }
        } else {
            self.source = nil
            sourceTokens = nil
        }
        let t = try answer(target, field: "--target")
        switch choice {
        case .difference:
            guard let distractor else {
                throw ExperimentError.invalid(file: "--distractor", field: "distractor", value: "missing",
                                              expected: "a distractor answer for the logit-diff metric (or --metric logit / loss)")
            }
            let d = try answer(distractor, field: "--distractor")
            guard d != t else {
                throw ExperimentError.invalid(file: "--distractor", field: "distractor", value: quoted(distractor), expected: "a token other than the target's")
            }
            metric = .logitDifference(target: t, distractor: d)
            label = "logit(\(quoted(target))) − logit(\(quoted(distractor)))"
        case .logit, .loss:
            if let distractor {
                throw ExperimentError.invalid(file: "--distractor", field: "distractor", value: quoted(distractor),
                                              expected: "no distractor with --metric \(choice.rawValue) (it reads the target only)")
            }
            metric = choice == .logit ? AttributionMetric(.logit(target: t)) : .loss(target: t)
            label = choice == .logit ? "logit(\(quoted(target)))" : "−log p(\(quoted(target)))"
        }
    }
}
