import Models
import Tensors

/// A text input and what the model's tokenizer made of it.
public struct TokenizedText: Sendable, Equatable {
    /// The text as written.
    public let text: String
    /// Its tokens (ids, token strings and code-point offsets), special tokens included.
    public let encoding: Encoding

    /// Encodes `text` with the tokenizer's special tokens (`encode(text, addSpecialTokens: true)`:
    /// a BOS where the tokenizer adds one, nothing for GPT-2).
    public init(_ text: String, tokenizer: any Tokenizer) {
        self.text = text
        self.encoding = tokenizer.encode(text, addSpecialTokens: true)
    }

    /// The piece of the text each token covers, quoted: `0 "The", 1 " capital", …` (special
    /// tokens, which cover no text, by their token string).
    public var tokenList: String {
        let scalars = Array(text.unicodeScalars)
        return encoding.offsets.enumerated().map { i, range -> String in
            let piece = range.isEmpty ? encoding.tokens[i] : String(String.UnicodeScalarView(scalars[range]))
            return "\(i) \(quoted(piece))"
        }.joined(separator: ", ")
    }
}

/// One intervention position of an example as written in its JSON: a token index or a
/// substring of the input text.
///
/// - `2` — token 2 (0-based); `-1` — the last token, `-2` the one before, … (resolved against
///   each example's own length, special tokens included).
/// - `"Spain"` — the last token that overlaps the first occurrence of "Spain" in the text (a
///   substring split over two tokens names the second); matching is exact and case-sensitive
///   on Unicode code points.
/// - `{"text": "Spain", "occurrence": 2}` — the same for the second occurrence (occurrences are
///   counted from the left and do not overlap).
public enum TokenPosition: Sendable, Equatable {
    case index(Int)
    case substring(String, occurrence: Int)

    /// The forms a position may take, for error messages.
    static let forms = "a token index (0-based; -1 is the last token), a substring of the text, or {\"text\": substring, \"occurrence\": n}"

    /// Reads one JSON position; nil when it has none of the accepted forms.
    init?(json: JSONValue) {
        if let i = json.intValue {
            self = .index(i)
        } else if let s = json.stringValue, !s.isEmpty {
            self = .substring(s, occurrence: 1)
        } else if let o = json.objectValue, o.count == (o["occurrence"] == nil ? 1 : 2), let s = o["text"]?.stringValue, !s.isEmpty,
                  let n = o["occurrence"] == nil ? 1 : o["occurrence"]?.intValue, n >= 1 {
            self = .substring(s, occurrence: n)
        } else {
            return nil
        }
    }

    /// The 0-based token index in an input of `length` tokens (`text`: its text, nil for ids or
    /// embeddings); nil when the index is out of range, the substring does not occur, or a
    /// substring meets an input without text.
    public func resolve(length: Int, text: TokenizedText?) -> Int? {
        switch self {
        case .index(let i):
            let resolved = i < 0 ? length + i : i
            return (0..<length).contains(resolved) ? resolved : nil
        case .substring(let needle, let occurrence):
            guard let text, let range = TokenPosition.codePointRange(of: needle, in: text.text, occurrence: occurrence) else { return nil }
            return text.encoding.offsets.lastIndex { $0.lowerBound < range.upperBound && $0.upperBound > range.lowerBound }
        }
    }

    /// The code-point range of the `occurrence`-th (1-based, non-overlapping) occurrence of
    /// `needle` in `text`.
    static func codePointRange(of needle: String, in text: String, occurrence: Int) -> Range<Int>? {
        let haystack = Array(text.unicodeScalars), pattern = Array(needle.unicodeScalars)
        guard !pattern.isEmpty else { return nil }
        var start = 0, found = 0
        while start + pattern.count <= haystack.count {
            if haystack[start..<(start + pattern.count)].elementsEqual(pattern) {
                found += 1
                if found == occurrence { return start..<(start + pattern.count) }
                start += pattern.count
            } else {
                start += 1
            }
        }
        return nil
    }
}

/// `text` in double quotes, with quotes, backslashes and newlines escaped.
func quoted(_ text: String) -> String {
    "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        .replacingOccurrences(of: "\n", with: "\\n") + "\""
}
