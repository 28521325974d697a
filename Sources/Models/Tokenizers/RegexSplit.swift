import Foundation

/// A split pattern run by Foundation's regular expressions: every match becomes a piece and so
/// does each stretch between matches (Hugging Face's `Split` with behavior `Isolated`, and
/// llama.cpp's regex pre-tokenizer). Lookarounds see only the piece being split.
///
/// `\s` and `\S` are rewritten to `\p{White_Space}` and `\P{White_Space}`: ICU's `\s` leaves out
/// U+000B and U+0085, which Oniguruma (Hugging Face) and llama.cpp count as whitespace.
public struct RegexSplit: @unchecked Sendable {
    /// The pattern as given.
    public let pattern: String
    // NSRegularExpression is immutable and documented as safe to share between threads.
    private let regex: NSRegularExpression

    /// Compiles `pattern`; throws Foundation's error when the pattern is invalid.
    public init(pattern: String) throws {
        self.pattern = pattern
        regex = try NSRegularExpression(pattern: RegexSplit.icuPattern(pattern))
    }

    /// A pattern matching `literal` exactly.
    public init(literal: String) throws {
        try self.init(pattern: NSRegularExpression.escapedPattern(for: literal))
    }

    /// Splits `scalars[range]`; the returned absolute ranges tile `range`. Empty matches are ignored.
    public func split(_ scalars: [Unicode.Scalar], in range: Range<Int>) -> [Range<Int>] {
        guard !range.isEmpty else { return [] }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars[range])
        let text = String(view)
        // UTF-16 offset → scalar offset within the piece.
        var scalarAt = [Int](repeating: 0, count: text.utf16.count + 1)
        var u = 0
        for (k, s) in scalars[range].enumerated() {
            let width = s.value > 0xFFFF ? 2 : 1
            for w in 0..<width { scalarAt[u + w] = k }
            u += width
        }
        scalarAt[u] = range.count
        var pieces: [Range<Int>] = []
        var previous = 0
        for match in regex.matches(in: text, range: NSRange(location: 0, length: u)) where match.range.length > 0 {
            let start = scalarAt[match.range.location], stop = scalarAt[match.range.location + match.range.length]
            if start > previous { pieces.append((range.lowerBound + previous)..<(range.lowerBound + start)) }
            pieces.append((range.lowerBound + start)..<(range.lowerBound + stop))
            previous = stop
        }
        if previous < range.count { pieces.append((range.lowerBound + previous)..<range.upperBound) }
        return pieces
    }

    /// `pattern` with unescaped `\s`/`\S` replaced by the White_Space property.
    static func icuPattern(_ pattern: String) -> String {
        var out = ""
        var iterator = pattern.makeIterator()
        while let c = iterator.next() {
            guard c == "\\" else { out.append(c); continue }
            guard let next = iterator.next() else { out.append(c); break }
            switch next {
            case "s": out += #"\p{White_Space}"#
            case "S": out += #"\P{White_Space}"#
            default: out.append(c); out.append(next)
            }
        }
        return out
    }
}
