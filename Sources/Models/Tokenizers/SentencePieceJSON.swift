import Tensors

/// Reads the tokenizer.json forms of SentencePiece-style BPE: Llama 2 / Mistral (normalizer
/// Prepend("▁") + Replace(" ", "▁"), or a Metaspace pre-tokenizer), Gemma (Replace only), with
/// decoders Replace("▁", " "), ByteFallback, Fuse, Strip or Metaspace.
enum SentencePieceJSON {
    /// Whether a BPE tokenizer.json looks like SentencePiece BPE.
    static func isSentencePieceStyle(_ json: JSONValue) -> Bool {
        if json["model"]?["byte_fallback"]?.boolValue == true { return true }
        if TokenizerLoader.componentTypes(json["pre_tokenizer"]).contains("Metaspace") { return true }
        return TokenizerLoader.componentTypes(json["normalizer"]).contains { $0 == "Replace" || $0 == "Prepend" }
    }

    /// The components of a normalizer that SentencePiece BPE understands.
    static func readNormalizer(_ json: JSONValue?, path: String, field: String = "normalizer",
                               into parts: inout SentencePieceBPETokenizer.Parts, replacesSpaces: inout Bool) throws {
        guard let json, !json.isNull else { return }
        let type = json["type"]?.stringValue ?? "(none)"
        switch type {
        case "Sequence":
            for (i, item) in (json["normalizers"]?.arrayValue ?? []).enumerated() {
                try readNormalizer(item, path: path, field: "\(field).normalizers[\(i)]", into: &parts, replacesSpaces: &replacesSpaces)
            }
        case "Prepend":
            let value = json["prepend"]?.stringValue ?? "(none)"
            guard value == "▁" else { throw TokenizerError.unsupported(path: path, field: "\(field).prepend", value: value, supported: "▁") }
            parts.spacePrefix = .everySegment
        case "Replace":
            let from = json["pattern"]?["String"]?.stringValue ?? "(a regex)", to = json["content"]?.stringValue ?? "(none)"
            guard from == " " && to == "▁" else {
                throw TokenizerError.unsupported(path: path, field: field, value: "Replace('\(from)', '\(to)')", supported: "Replace(' ', '▁')")
            }
            replacesSpaces = true
        default:
            throw TokenizerError.unsupported(path: path, field: "\(field).type", value: type, supported: "Prepend, Replace, Sequence")
        }
    }

    /// A Metaspace pre-tokenizer (or none).
    static func readPreTokenizer(_ json: JSONValue?, path: String, into parts: inout SentencePieceBPETokenizer.Parts,
                                 replacesSpaces: inout Bool) throws {
        guard let json, !json.isNull else { return }
        let type = json["type"]?.stringValue ?? "(none)"
        guard type == "Metaspace" else {
            throw TokenizerError.unsupported(path: path, field: "pre_tokenizer.type", value: type, supported: "Metaspace or null")
        }
        let replacement = json["replacement"]?.stringValue ?? "▁"
        guard replacement == "▁" else {
            throw TokenizerError.unsupported(path: path, field: "pre_tokenizer.replacement", value: replacement, supported: "▁")
        }
        replacesSpaces = true
        parts.prefixUnlessSpace = true
        let legacy = json["add_prefix_space"]?.boolValue.map { $0 ? "always" : "never" }
        let scheme = json["prepend_scheme"]?.stringValue ?? legacy ?? "always"
        switch scheme {
        case "always": parts.spacePrefix = .everySegment
        case "first": parts.spacePrefix = .firstSegment
        case "never": parts.spacePrefix = .none
        default: throw TokenizerError.unsupported(path: path, field: "pre_tokenizer.prepend_scheme", value: scheme, supported: "always, first, never")
        }
        parts.splitsAtSpaces = json["split"]?.boolValue ?? true
    }

    /// The decoder: how many leading spaces to strip (Strip `start`, or 1 for a Metaspace decoder
    /// that prepends). Replace("▁", " "), ByteFallback and Fuse are what decoding always does.
    static func strippedSpaces(_ json: JSONValue?, path: String, field: String = "decoder") throws -> Int {
        guard let json, !json.isNull else { return 0 }
        let type = json["type"]?.stringValue ?? "(none)"
        switch type {
        case "Sequence":
            return try (json["decoders"]?.arrayValue ?? []).enumerated().reduce(0) {
                $0 + (try strippedSpaces($1.element, path: path, field: "\(field).decoders[\($1.offset)]"))
            }
        case "Replace":
            let from = json["pattern"]?["String"]?.stringValue ?? "(a regex)", to = json["content"]?.stringValue ?? "(none)"
            guard from == "▁" && to == " " else {
                throw TokenizerError.unsupported(path: path, field: field, value: "Replace('\(from)', '\(to)')", supported: "Replace('▁', ' ')")
            }
            return 0
        case "ByteFallback", "Fuse": return 0
        case "Strip":
            guard json["content"]?.stringValue == " ", (json["stop"]?.intValue ?? 0) == 0 else {
                throw TokenizerError.unsupported(path: path, field: field, value: "Strip(\(json["content"]?.stringValue ?? "?"), stop \(json["stop"]?.intValue ?? 0))",
                                                 supported: "Strip(' ', start n, stop 0)")
            }
            let start = json["start"]?.intValue ?? 0
            guard (0...16).contains(start) else {
                throw TokenizerError.malformed(path: path, field: "\(field).start", reason: "is \(start); expected 0...16 characters to strip")
            }
            return start
        case "Metaspace": return (json["prepend_scheme"]?.stringValue ?? "always") == "never" || json["add_prefix_space"]?.boolValue == false ? 0 : 1
        default:
            throw TokenizerError.unsupported(path: path, field: "\(field).type", value: type, supported: "Replace, ByteFallback, Fuse, Strip, Metaspace, Sequence")
        }
    }
}

extension SentencePieceBPETokenizer {
    /// Reads a SentencePiece-style BPE tokenizer.json.
    init(json: JSONValue, path: String) throws {
        let model = json["model"]!.objectValue!
        try TokenizerLoader.checkPlainBPE(model, path: path)
        let vocabulary = try TokenizerLoader.vocabulary(model, path: path)
        var ranks: [ByteLevelBPETokenizer.SymbolPair: Int] = [:]
        for (rank, pair) in try TokenizerLoader.merges(model, path: path).enumerated() {
            let key = ByteLevelBPETokenizer.SymbolPair(left: pair.0, right: pair.1)
            if ranks[key] == nil { ranks[key] = rank }
        }
        let added = try TokenizerLoader.addedTokens(json, path: path)
        var parts = Parts(vocabulary: vocabulary, mergeOrder: .ranks(ranks), addedTokens: added)
        parts.spacePrefix = .none
        var replacesSpaces = false
        try SentencePieceJSON.readNormalizer(json["normalizer"], path: path, into: &parts, replacesSpaces: &replacesSpaces)
        try SentencePieceJSON.readPreTokenizer(json["pre_tokenizer"], path: path, into: &parts, replacesSpaces: &replacesSpaces)
        guard replacesSpaces else {
            throw TokenizerError.unsupported(path: path, field: "normalizer", value: json["normalizer"]?["type"]?.stringValue ?? "null",
                                             supported: "a Replace(' ', '▁') normalizer or a Metaspace pre-tokenizer")
        }
        parts.stripsLeadingSpaces = try SentencePieceJSON.strippedSpaces(json["decoder"], path: path)
        parts.fallsBackBeforeMerging = true
        parts.replacesInvalidBytesPerByte = true
        if model["byte_fallback"]?.boolValue == true {
            for (token, id) in vocabulary where token.count == 6 && token.hasPrefix("<0x") && token.hasSuffix(">") {
                if let b = UInt8(token.dropFirst(3).prefix(2), radix: 16) { parts.byteIds[id] = b }
            }
        }
        parts.unknownId = model["unk_token"]?.stringValue.flatMap { vocabulary[$0] }
        parts.fusesUnknown = model["fuse_unk"]?.boolValue ?? false
        let idOf = { (name: String) in vocabulary[name] ?? added.first { $0.content == name }?.id }
        (parts.template, parts.beginningOfSequenceId, parts.endOfSequenceId) = try TokenizerLoader.specialTokens(json, path: path, idOf: idOf)
        parts.paddingId = parts.unknownId
        self.init(parts)
    }
}
