import Foundation
import Tensors

/// The result of encoding one text.
public struct Encoding: Equatable, Sendable {
    /// Token ids.
    public var ids: [Int]
    /// Token strings as the vocabulary spells them (byte-level symbols such as "Ġworld" for BPE).
    public var tokens: [String]
    /// (start, end) of each token in Unicode code points of the input text; (0, 0) for tokens
    /// the tokenizer added ([CLS], [SEP]).
    public var offsets: [Range<Int>]

    public init(ids: [Int] = [], tokens: [String] = [], offsets: [Range<Int>] = []) {
        self.ids = ids
        self.tokens = tokens
        self.offsets = offsets
    }
}

/// A padded batch of encodings.
public struct EncodedBatch: Sendable {
    /// Token ids (B, S), padded with the pad id.
    public var ids: IndexTensor
    /// True on real tokens, false on padding.
    public var attentionMask: [[Bool]]
    /// Real tokens per example.
    public var lengths: [Int]
}

/// Which side of a sequence receives padding.
public enum PaddingSide: Sendable {
    case right, left
}

/// Turns text into token ids and back.
public protocol Tokenizer: Sendable {
    /// Encodes `text`, adding the model's special tokens (e.g. [CLS] … [SEP]) when asked.
    func encode(_ text: String, addSpecialTokens: Bool) -> Encoding
    /// Decodes ids to text, dropping special tokens when asked.
    func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String
    /// Number of ids.
    var vocabularySize: Int { get }
    /// The id used for padding.
    var paddingId: Int { get }
    /// The id of a token string, if in the vocabulary.
    func id(of token: String) -> Int?
    /// The beginning-of-sequence id the file names, if any.
    var beginningOfSequenceId: Int? { get }
    /// The end-of-sequence id the file names, if any (generation stops there).
    var endOfSequenceId: Int? { get }
}

extension Tokenizer {
    /// None unless the tokenizer says.
    public var beginningOfSequenceId: Int? { nil }
    /// None unless the tokenizer says.
    public var endOfSequenceId: Int? { nil }

    /// Encodes with special tokens.
    public func encode(_ text: String) -> Encoding { encode(text, addSpecialTokens: true) }
    /// Decodes, skipping special tokens.
    public func decode(_ ids: [Int]) -> String { decode(ids, skipSpecialTokens: true) }

    /// Encodes several texts and pads them to the longest.
    public func encodeBatch(_ texts: [String], addSpecialTokens: Bool = true, padding: PaddingSide = .right) -> EncodedBatch {
        let encodings = texts.map { encode($0, addSpecialTokens: addSpecialTokens) }
        let longest = encodings.map(\.ids.count).max() ?? 0
        var ids: [Int] = []
        var mask: [[Bool]] = []
        for e in encodings {
            let pad = longest - e.ids.count
            let padIds = [Int](repeating: paddingId, count: pad)
            let padMask = [Bool](repeating: false, count: pad)
            let real = [Bool](repeating: true, count: e.ids.count)
            ids += padding == .right ? e.ids + padIds : padIds + e.ids
            mask.append(padding == .right ? real + padMask : padMask + real)
        }
        return EncodedBatch(ids: IndexTensor(shape: [texts.count, longest], values: ids), attentionMask: mask,
                            lengths: encodings.map(\.ids.count))
    }
}

/// A tokenizer.json or tokenizer metadata that cannot be used; `path` names the file (or the
/// metadata's source), `field` the key at fault.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case unsupported(path: String, field: String, value: String, supported: String)
    case malformed(path: String, field: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "\(path): cannot read tokenizer (\(reason))"
        case .unsupported(let path, let field, let value, let supported):
            return "\(path): \(field) '\(value)' is not supported; supported: \(supported)"
        case .malformed(let path, let field, let reason): return "\(path): field '\(field)' \(reason)"
        }
    }
}
