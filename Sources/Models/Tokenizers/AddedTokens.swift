/// A token matched literally in the input before any other processing: Hugging Face's
/// `added_tokens`, or a GGUF vocabulary's control, user-defined and unknown tokens.
struct AddedToken: Sendable, Equatable {
    /// The text matched.
    var content: String
    /// Its id.
    var id: Int
    /// Special tokens are dropped when decoding with `skipSpecialTokens`.
    var special: Bool
    /// Whitespace just before a match is swallowed by the token (`lstrip`).
    var stripsLeft: Bool
    /// Whitespace just after a match is swallowed by the token (`rstrip`).
    var stripsRight: Bool

    init(content: String, id: Int, special: Bool, stripsLeft: Bool = false, stripsRight: Bool = false) {
        self.content = content
        self.id = id
        self.special = special
        self.stripsLeft = stripsLeft
        self.stripsRight = stripsRight
    }
}

/// Finds added tokens in text: at each position the longest token starting there wins, scanning
/// left to right (Hugging Face's leftmost-longest matching).
struct AddedTokenMatcher: Sendable {
    /// A stretch of the input: plain text, or one added token.
    struct Segment: Equatable {
        var range: Range<Int>
        var token: AddedToken?
    }

    let tokens: [AddedToken]
    /// Candidates by first code point, longest first.
    private let byFirstScalar: [Unicode.Scalar: [(scalars: [Unicode.Scalar], index: Int)]]

    init(_ tokens: [AddedToken]) {
        self.tokens = tokens
        var table: [Unicode.Scalar: [(scalars: [Unicode.Scalar], index: Int)]] = [:]
        for (index, token) in tokens.enumerated() {
            let scalars = Array(token.content.unicodeScalars)
            guard let first = scalars.first else { continue }
            table[first, default: []].append((scalars, index))
        }
        byFirstScalar = table.mapValues { $0.sorted { $0.scalars.count > $1.scalars.count } }
    }

    /// The segments of `scalars`, in order; they tile the input except for whitespace swallowed
    /// by tokens that strip, which is part of the token's range.
    func split(_ scalars: [Unicode.Scalar]) -> [Segment] {
        guard !byFirstScalar.isEmpty else { return scalars.isEmpty ? [] : [Segment(range: 0..<scalars.count)] }
        var segments: [Segment] = []
        var textStart = 0, i = 0
        while i < scalars.count {
            guard let match = longestMatch(scalars, at: i) else { i += 1; continue }
            let token = tokens[match.index]
            var start = i, stop = i + match.length
            if token.stripsLeft { while start > textStart && ScalarClass.isSpace(scalars[start - 1]) { start -= 1 } }
            if token.stripsRight { while stop < scalars.count && ScalarClass.isSpace(scalars[stop]) { stop += 1 } }
            if textStart < start { segments.append(Segment(range: textStart..<start)) }
            segments.append(Segment(range: start..<stop, token: token))
            i = stop
            textStart = stop
        }
        if textStart < scalars.count { segments.append(Segment(range: textStart..<scalars.count)) }
        return segments
    }

    private func longestMatch(_ scalars: [Unicode.Scalar], at i: Int) -> (index: Int, length: Int)? {
        guard let candidates = byFirstScalar[scalars[i]] else { return nil }
        for c in candidates where scalars[i...].starts(with: c.scalars) {
            return (c.index, c.scalars.count)
        }
        return nil
    }
}

extension AddedTokenMatcher {
    /// Encodes `text`: the template's prefix (when given), each added token as it is, every other
    /// segment through `encodeSegment(scalars, range, &out)`, then the template's suffix.
    func encode(_ text: String, template: SpecialTokenTemplate?, tokensById: [Int: String],
                encodeSegment: ([Unicode.Scalar], Range<Int>, inout Encoding) -> Void) -> Encoding {
        let scalars = Array(text.unicodeScalars)
        var out = Encoding()
        for id in template?.prefix ?? [] { out.append(id, tokensById[id] ?? "", 0..<0) }
        for segment in split(scalars) {
            if let token = segment.token {
                out.append(token.id, token.content, segment.range)
            } else {
                encodeSegment(scalars, segment.range, &out)
            }
        }
        for id in template?.suffix ?? [] { out.append(id, tokensById[id] ?? "", 0..<0) }
        return out
    }
}

extension Encoding {
    /// Appends one token.
    mutating func append(_ id: Int, _ token: String, _ range: Range<Int>) {
        ids.append(id)
        tokens.append(token)
        offsets.append(range)
    }
}
