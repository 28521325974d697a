import Foundation
import Models

/// A tracing or patching question as a person writes it — prompts, a subject, answers — resolved
/// to token ids, with typed errors (`ExperimentError.invalid`) whose `file` is the flag at fault.
public struct TracingPrompt {
    /// The clean prompt's token ids and the decoded text of each token.
    public let tokens: [Int]
    public let tokenTexts: [String]
    /// Its tokenization with offsets (for locating substrings).
    public let text: TokenizedText

    /// Tokenizes `prompt` as the model reads it (special tokens included). Throws naming `field`
    /// when it has no tokens.
    public init(tokenizer: any Tokenizer, prompt: String, field: String = "--prompt") throws {
        text = TokenizedText(prompt, tokenizer: tokenizer)
        tokens = text.encoding.ids
        guard !tokens.isEmpty else { throw ExperimentError.invalid(file: field, field: "prompt", value: quoted(prompt), expected: "text with at least one token") }
        tokenTexts = tokens.map { tokenizer.decode([$0], skipSpecialTokens: false) }
    }

    /// The tokens of the first occurrence of `subject` (every token it overlaps). Throws naming
    /// `--subject` and listing the prompt's tokens when it does not occur.
    public func subjectRange(_ subject: String) throws -> Range<Int> {
        guard !subject.isEmpty, let range = text.tokenRange(of: subject) else {
            throw ExperimentError.invalid(file: "--subject", field: "subject", value: quoted(subject),
                                          expected: "a substring of the prompt (case-sensitive); its tokens are \(text.tokenList)")
        }
        return range
    }

    /// A token range written "A:B" (0-based, B exclusive; negative counts from the end). Throws
    /// naming `--subject-tokens` when malformed, empty or outside the prompt.
    public func tokenRange(_ written: String) throws -> Range<Int> {
        let parts = written.split(separator: ":", omittingEmptySubsequences: false).map { Int($0) }
        let n = tokens.count
        func resolve(_ i: Int) -> Int { i < 0 ? n + i : i }
        guard parts.count == 2, let a = parts[0], let b = parts[1], resolve(a) >= 0, resolve(a) < resolve(b), resolve(b) <= n else {
            throw ExperimentError.invalid(file: "--subject-tokens", field: "subject", value: quoted(written),
                                          expected: "A:B with 0 ≤ A < B ≤ \(n) (B exclusive; negative counts from the end); the tokens are \(text.tokenList)")
        }
        return resolve(a)..<resolve(b)
    }

    /// The one token `answer` encodes to (no special tokens). Throws naming `field` and showing
    /// the pieces when it is not exactly one token.
    public static func answerToken(_ answer: String, tokenizer: any Tokenizer, field: String) throws -> Int {
        let ids = tokenizer.encode(answer, addSpecialTokens: false).ids
        guard ids.count == 1 else {
            let pieces = ids.map { quoted(tokenizer.decode([$0], skipSpecialTokens: false)) }.joined(separator: " ")
            throw ExperimentError.invalid(file: field, field: "answer", value: quoted(answer),
                                          expected: "exactly one token; it is \(ids.count) tokens\(ids.isEmpty ? "" : ": " + pieces) (mind the leading space, as in \" Paris\")")
        }
        return ids[0]
    }

    /// The corrupted prompt of activation patching: throws naming `--corrupted` unless it has as
    /// many tokens as this (clean) prompt.
    public func contrast(_ corrupted: String, tokenizer: any Tokenizer) throws -> TracingPrompt {
        let other = try TracingPrompt(tokenizer: tokenizer, prompt: corrupted, field: "--corrupted")
        guard other.tokens.count == tokens.count else {
            throw ExperimentError.invalid(file: "--corrupted", field: "corrupted", value: "\(quoted(corrupted)) (\(other.tokens.count) tokens: \(other.text.tokenList))",
                                          expected: "as many tokens as the clean prompt (\(tokens.count): \(text.tokenList)), so that positions line up")
        }
        return other
    }

    /// The metric of a patch or trace: logit(target) − logit(distractor) with a distractor,
    /// else p(target); with its label. Throws naming the flag of an answer that is not one token,
    /// or a distractor equal to the target.
    public static func metric(target: String, distractor: String?, tokenizer: any Tokenizer,
                              targetField: String = "--target") throws -> (metric: AttributionMetric, label: String) {
        let t = try answerToken(target, tokenizer: tokenizer, field: targetField)
        guard let distractor else { return (.probability(target: t), "p(\(quoted(target)))") }
        let d = try answerToken(distractor, tokenizer: tokenizer, field: "--distractor")
        guard d != t else {
            throw ExperimentError.invalid(file: "--distractor", field: "distractor", value: quoted(distractor), expected: "a token other than the target's")
        }
        return (.logitDifference(target: t, distractor: d), "logit(\(quoted(target))) − logit(\(quoted(distractor)))")
    }
}
