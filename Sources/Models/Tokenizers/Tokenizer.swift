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
}

extension Tokenizer {
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

/// A tokenizer.json that cannot be used.
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

/// Loads Hugging Face `tokenizer.json` files.
public enum TokenizerLoader {
    /// Reads a byte-level BPE (GPT-2 family) or WordPiece (BERT) tokenizer. Padding and
    /// truncation settings in the file are ignored (callers pad with `encodeBatch`).
    public static func load(path: String) throws -> any Tokenizer {
        let json: JSONValue
        do { json = try JSONValue.parse(contentsOf: path) } catch {
            throw TokenizerError.unreadable(path: path, reason: "\(error)")
        }
        guard let model = json["model"]?.objectValue else {
            throw TokenizerError.malformed(path: path, field: "model", reason: "is missing or not an object")
        }
        let type = model["type"]?.stringValue ?? "(none)"
        switch type {
        case "BPE": return try ByteLevelBPETokenizer(json: json, path: path)
        case "WordPiece": return try WordPieceTokenizer(json: json, path: path)
        default:
            throw TokenizerError.unsupported(path: path, field: "model.type", value: type, supported: "BPE (byte-level), WordPiece")
        }
    }

    /// Reads `path`'s added tokens: (content, id, special).
    static func addedTokens(_ json: JSONValue, path: String) throws -> [(content: String, id: Int, special: Bool)] {
        guard let list = json["added_tokens"] else { return [] }
        guard let items = list.arrayValue else {
            throw TokenizerError.malformed(path: path, field: "added_tokens", reason: "is not an array")
        }
        return try items.enumerated().map { i, item in
            guard let content = item["content"]?.stringValue, let id = item["id"]?.intValue else {
                throw TokenizerError.malformed(path: path, field: "added_tokens[\(i)]", reason: "needs string 'content' and integer 'id'")
            }
            return (content, id, item["special"]?.boolValue ?? false)
        }
    }

    /// Reads `model.vocab` as token → id.
    static func vocabulary(_ model: JSONObject, path: String) throws -> [String: Int] {
        guard let vocab = model["vocab"]?.objectValue else {
            throw TokenizerError.malformed(path: path, field: "model.vocab", reason: "is missing or not an object")
        }
        var out: [String: Int] = [:]
        out.reserveCapacity(vocab.count)
        for (token, value) in vocab {
            guard let id = value.intValue, id >= 0 else {
                throw TokenizerError.malformed(path: path, field: "model.vocab[\(token)]", reason: "is not a non-negative integer id")
            }
            out[token] = id
        }
        return out
    }
}
