import Foundation
import Tensors

/// Loads tokenizers from Hugging Face `tokenizer.json` files and from GGUF tokenizer metadata.
public enum TokenizerLoader {
    /// Reads a tokenizer.json: byte-level BPE (GPT-2, Llama 3, Qwen2…), SentencePiece-style BPE
    /// with byte fallback (Llama 2, Mistral, Gemma) or WordPiece (BERT). A `tokenizer_config.json`
    /// beside it may set `add_bos_token` / `add_eos_token`. Padding and truncation settings in the
    /// file are ignored (callers pad with `encodeBatch`).
    public static func load(path: String) throws -> any Tokenizer {
        let json: JSONValue
        do { json = try JSONValue.parse(contentsOf: path) } catch {
            throw TokenizerError.unreadable(path: path, reason: "\(error)")
        }
        return try load(json: json, path: path)
    }

    /// Builds the tokenizer a parsed tokenizer.json describes; `path` names it in errors and
    /// locates a neighbouring `tokenizer_config.json` (none is read when that file is absent).
    public static func load(json: JSONValue, path: String) throws -> any Tokenizer {
        guard let model = json["model"]?.objectValue else {
            throw TokenizerError.malformed(path: path, field: "model", reason: "is missing or not an object")
        }
        let type = model["type"]?.stringValue ?? "(none)"
        switch type {
        case "BPE":
            let kinds = componentTypes(json["pre_tokenizer"]) + componentTypes(json["decoder"])
            if kinds.contains("ByteLevel") { return try ByteLevelBPETokenizer(json: json, path: path) }
            if SentencePieceJSON.isSentencePieceStyle(json) { return try SentencePieceBPETokenizer(json: json, path: path) }
            throw TokenizerError.unsupported(path: path, field: "pre_tokenizer", value: json["pre_tokenizer"]?["type"]?.stringValue ?? "null",
                                             supported: "ByteLevel (byte-level BPE); Metaspace, or a Replace(' ', '▁') normalizer (SentencePiece BPE)")
        case "WordPiece": return try WordPieceTokenizer(json: json, path: path)
        default:
            throw TokenizerError.unsupported(path: path, field: "model.type", value: type, supported: "BPE (byte-level), WordPiece")
        }
    }

    /// Every `type` named in a component and its nested components.
    static func componentTypes(_ json: JSONValue?) -> [String] {
        switch json {
        case .object(let o)?: return (o["type"]?.stringValue.map { [$0] } ?? []) + o.values.values.flatMap { componentTypes($0) }
        case .array(let a)?: return a.flatMap { componentTypes($0) }
        default: return []
        }
    }

    /// Token ids are below this (2³¹): larger ids in a file are malformed, and the vocabulary
    /// size (largest id + 1) cannot overflow.
    static let maximumId = 1 << 31

    /// Reads `path`'s added tokens (content, id, special, lstrip, rstrip).
    static func addedTokens(_ json: JSONValue, path: String) throws -> [AddedToken] {
        guard let list = json["added_tokens"], !list.isNull else { return [] }
        guard let items = list.arrayValue else {
            throw TokenizerError.malformed(path: path, field: "added_tokens", reason: "is not an array")
        }
        return try items.enumerated().map { i, item in
            guard let content = item["content"]?.stringValue, let id = item["id"]?.intValue, (0..<maximumId).contains(id) else {
                throw TokenizerError.malformed(path: path, field: "added_tokens[\(i)]",
                                               reason: "needs string 'content' and integer 'id' in 0..<\(maximumId)")
            }
            return AddedToken(content: content, id: id, special: item["special"]?.boolValue ?? false,
                              stripsLeft: item["lstrip"]?.boolValue ?? false, stripsRight: item["rstrip"]?.boolValue ?? false)
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
            guard let id = value.intValue, (0..<maximumId).contains(id) else {
                throw TokenizerError.malformed(path: path, field: "model.vocab[\(token)]", reason: "is not an integer id in 0..<\(maximumId)")
            }
            out[token] = id
        }
        return out
    }

    /// Reads `model.merges`, either "left right" strings or [left, right] pairs; rank = index.
    static func merges(_ model: JSONObject, path: String) throws -> [(String, String)] {
        guard let list = model["merges"]?.arrayValue else {
            throw TokenizerError.malformed(path: path, field: "model.merges", reason: "is missing or not an array")
        }
        return try list.enumerated().map { rank, entry in
            if let text = entry.stringValue, let pair = splitMerge(text) { return pair }
            if let pair = entry.arrayValue, pair.count == 2, let l = pair[0].stringValue, let r = pair[1].stringValue { return (l, r) }
            throw TokenizerError.malformed(path: path, field: "model.merges[\(rank)]", reason: "is neither 'left right' nor [left, right]")
        }
    }

    /// "left right" split at the first space after the first character (llama.cpp's rule).
    static func splitMerge(_ text: String) -> (String, String)? {
        guard !text.isEmpty, let space = text[text.index(after: text.startIndex)...].firstIndex(of: " ") else { return nil }
        return (String(text[..<space]), String(text[text.index(after: space)...]))
    }

    /// Rejects BPE options no supported family uses.
    static func checkPlainBPE(_ model: JSONObject, path: String) throws {
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let value = model[key]?.stringValue, !value.isEmpty {
                throw TokenizerError.unsupported(path: path, field: "model.\(key)", value: value, supported: "null")
            }
        }
        if let dropout = model["dropout"]?.doubleValue, dropout > 0 {
            throw TokenizerError.unsupported(path: path, field: "model.dropout", value: "\(dropout)", supported: "null (no dropout)")
        }
    }

    /// The special-token template of a tokenizer.json: its `post_processor`, overridden by
    /// `add_bos_token` / `add_eos_token` in a neighbouring tokenizer_config.json; with the BOS and
    /// EOS ids that config names (else the template's first prefix and last suffix id).
    static func specialTokens(_ json: JSONValue, path: String, idOf: (String) -> Int?) throws
        -> (template: SpecialTokenTemplate, bos: Int?, eos: Int?) {
        var template = try SpecialTokenTemplate.parse(json["post_processor"], path: path)
        var bos = template.prefix.first, eos = template.suffix.last
        if let config = try SpecialTokenTemplate.neighbouringConfig(of: path) {
            template = try template.overridden(byConfig: config.json, path: config.path, idOf: idOf)
            let name = { (key: String) in config.json[key]?.stringValue ?? config.json[key]?["content"]?.stringValue }
            bos = name("bos_token").flatMap(idOf) ?? template.prefix.first
            eos = name("eos_token").flatMap(idOf) ?? eos
        }
        return (template, bos, eos)
    }
}
