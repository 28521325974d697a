/// Cuts text into the pieces that byte-pair encoding handles one at a time. A pre-tokenizer is a
/// sequence of steps; each step splits every piece the previous step produced, so a later
/// step's patterns (and their lookaheads) never see across an earlier step's cuts.
///
/// This covers llama.cpp's `tokenizer.ggml.pre` names (see `PreTokenizer.llamaCpp(named:)`)
/// and Hugging Face's `ByteLevel(use_regex)`, `Split(Isolated)`, `Digits` and `Sequence`.
public struct PreTokenizer: Sendable {
    /// One splitting step.
    public enum Step: Sendable {
        /// GPT-2's pattern `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
        /// (what `ByteLevel(use_regex=true)` runs), scanned without a regex engine.
        case gpt2
        /// Matches of a regular expression, isolated; the text between matches is kept as pieces.
        case regex(RegexSplit)
        /// Runs of \p{N} characters isolated, or each such character alone when `individual`.
        case digits(individual: Bool)
    }

    /// The steps, applied in order.
    public var steps: [Step]

    /// A pre-tokenizer running `steps` in order; no steps leaves the text whole.
    public init(_ steps: [Step]) { self.steps = steps }

    /// GPT-2's byte-level pre-tokenizer.
    public static let gpt2 = PreTokenizer([.gpt2])

    /// The pieces of `scalars`, as code-point ranges that tile the whole input.
    public func split(_ scalars: [Unicode.Scalar]) -> [Range<Int>] { split(scalars, in: 0..<scalars.count) }

    /// The pieces of `scalars[range]`, as absolute code-point ranges that tile `range`.
    public func split(_ scalars: [Unicode.Scalar], in range: Range<Int>) -> [Range<Int>] {
        var pieces = range.isEmpty ? [] : [range]
        for step in steps {
            pieces = pieces.flatMap { PreTokenizer.apply(step, scalars, $0) }
        }
        return pieces
    }

    static func apply(_ step: Step, _ scalars: [Unicode.Scalar], _ range: Range<Int>) -> [Range<Int>] {
        switch step {
        case .gpt2: return GPT2Pattern.split(scalars, in: range)
        case .regex(let r): return r.split(scalars, in: range)
        case .digits(let individual): return splitDigits(scalars, in: range, individual: individual)
        }
    }

    /// Hugging Face's `Digits`: number runs (or single number characters) become pieces.
    static func splitDigits(_ scalars: [Unicode.Scalar], in range: Range<Int>, individual: Bool) -> [Range<Int>] {
        var pieces: [Range<Int>] = []
        var start = range.lowerBound
        var i = range.lowerBound
        while i < range.upperBound {
            guard ScalarClass.isNumber(scalars[i]) else { i += 1; continue }
            if start < i { pieces.append(start..<i) }
            var stop = i + 1
            if !individual {
                while stop < range.upperBound && ScalarClass.isNumber(scalars[stop]) { stop += 1 }
            }
            pieces.append(i..<stop)
            i = stop
            start = stop
        }
        if start < range.upperBound { pieces.append(start..<range.upperBound) }
        return pieces
    }
}
