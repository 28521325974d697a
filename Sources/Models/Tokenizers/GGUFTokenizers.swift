extension TokenizerLoader {
    /// Builds the tokenizer that GGUF tokenizer metadata describes, with llama.cpp's semantics:
    /// `gpt2` → byte-level BPE with the `pre` name's splitting; `llama` → SentencePiece BPE by
    /// score with byte fallback. Control, unknown and user-defined tokens are matched whole in the
    /// text (control and unknown ones are special: skipped when decoding with
    /// `skipSpecialTokens`). BOS is added by default for llama models and for the Llama 3
    /// pre-tokenizer names, otherwise only when `addBOS` is true; EOS only when `addEOS` is true.
    public static func load(ggufMetadata metadata: TokenizerMetadata) throws -> any Tokenizer {
        switch metadata.model {
        case "gpt2": return try ByteLevelBPETokenizer(metadata: metadata)
        case "llama": return try SentencePieceBPETokenizer(metadata: metadata)
        default:
            throw TokenizerError.unsupported(path: metadata.source, field: "tokenizer.ggml.model", value: metadata.model, supported: "gpt2, llama")
        }
    }
}

/// The checked vocabulary part of GGUF tokenizer metadata.
struct GGUFVocabulary {
    let metadata: TokenizerMetadata
    let vocabulary: [String: Int]
    let types: [GGUFTokenType]

    init(_ m: TokenizerMetadata) throws {
        metadata = m
        guard !m.tokens.isEmpty else {
            throw TokenizerError.malformed(path: m.source, field: "tokenizer.ggml.tokens", reason: "is empty")
        }
        if let raw = m.tokenTypes {
            guard raw.count >= m.tokens.count else {
                throw TokenizerError.malformed(path: m.source, field: "tokenizer.ggml.token_type", reason: "has \(raw.count) entries for \(m.tokens.count) tokens")
            }
            types = try raw.prefix(m.tokens.count).enumerated().map { i, value in
                guard let type = GGUFTokenType(rawValue: value) else {
                    throw TokenizerError.unsupported(path: m.source, field: "tokenizer.ggml.token_type[\(i)]", value: "\(value)",
                                                     supported: "1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte")
                }
                return type
            }
        } else {
            types = Array(repeating: .normal, count: m.tokens.count)
        }
        var vocabulary: [String: Int] = [:]
        vocabulary.reserveCapacity(m.tokens.count)
        for (i, token) in m.tokens.enumerated() {
            let text = token.isEmpty ? "[EMPTY_\(i)]" : token  // llama.cpp's name for empty tokens
            if let other = vocabulary[text] {
                throw TokenizerError.malformed(path: m.source, field: "tokenizer.ggml.tokens[\(i)]", reason: "repeats token \(other) ('\(text)')")
            }
            vocabulary[text] = i
        }
        self.vocabulary = vocabulary
    }

    /// Control, unknown and user-defined tokens, matched whole before any splitting.
    var addedTokens: [AddedToken] {
        types.enumerated().compactMap { id, type in
            guard [.control, .unknown, .userDefined].contains(type), !metadata.tokens[id].isEmpty else { return nil }
            return AddedToken(content: metadata.tokens[id], id: id, special: type != .userDefined)
        }
    }

    /// `id` when it is inside the vocabulary; throws naming `key` otherwise.
    func checked(_ id: Int?, key: String) throws -> Int? {
        guard let id else { return nil }
        guard (0..<metadata.tokens.count).contains(id) else {
            throw TokenizerError.malformed(path: metadata.source, field: key, reason: "is \(id), outside the vocabulary 0..<\(metadata.tokens.count)")
        }
        return id
    }

    /// BOS/EOS/padding ids and the template that adds them.
    func specialTokens(addsBOSByDefault: Bool, defaultBOS: Int?, defaultEOS: Int?, unknownId: Int?) throws
        -> (template: SpecialTokenTemplate, bos: Int?, eos: Int?, padding: Int?) {
        let bos = try checked(metadata.bosId, key: "tokenizer.ggml.bos_token_id") ?? defaultBOS
        let eos = try checked(metadata.eosId, key: "tokenizer.ggml.eos_token_id") ?? defaultEOS
        let padding = try checked(metadata.paddingId, key: "tokenizer.ggml.padding_token_id")
        var template = SpecialTokenTemplate()
        if metadata.addBOS ?? addsBOSByDefault {
            guard let bos else {
                throw TokenizerError.malformed(path: metadata.source, field: "tokenizer.ggml.bos_token_id", reason: "is missing but BOS is added")
            }
            template.prefix = [bos]
        }
        if metadata.addEOS ?? false {
            guard let eos else {
                throw TokenizerError.malformed(path: metadata.source, field: "tokenizer.ggml.eos_token_id", reason: "is missing but add_eos_token is true")
            }
            template.suffix = [eos]
        }
        return (template, bos, eos, padding ?? unknownId ?? eos)
    }
}

extension ByteLevelBPETokenizer {
    /// Byte-level BPE from `tokenizer.ggml.model = gpt2` metadata.
    init(metadata m: TokenizerMetadata) throws {
        let v = try GGUFVocabulary(m)
        guard let pre = PreTokenizer.llamaCpp(named: m.pre) else {
            throw TokenizerError.unsupported(path: m.source, field: "tokenizer.ggml.pre", value: m.pre ?? "",
                                             supported: PreTokenizer.llamaCppPreTokenizerNames.joined(separator: ", "))
        }
        let merges = try m.merges.enumerated().map { i, text in
            guard let pair = TokenizerLoader.splitMerge(text) else {
                throw TokenizerError.malformed(path: m.source, field: "tokenizer.ggml.merges[\(i)]", reason: "is not 'left right'")
            }
            return SymbolPair(left: pair.0, right: pair.1)
        }
        var parts = Parts(vocabulary: v.vocabulary, merges: merges, addedTokens: v.addedTokens, preTokenizer: pre.preTokenizer)
        parts.ignoresMerges = pre.ignoresMerges
        parts.unknownId = try v.checked(m.unknownId, key: "tokenizer.ggml.unknown_token_id")
        let special = try v.specialTokens(addsBOSByDefault: pre.addsBOSByDefault, defaultBOS: nil, defaultEOS: nil, unknownId: parts.unknownId)
        parts.template = special.template
        parts.beginningOfSequenceId = special.bos
        parts.endOfSequenceId = special.eos
        parts.paddingId = special.padding
        self.init(parts)
    }
}

extension SentencePieceBPETokenizer {
    /// SentencePiece BPE from `tokenizer.ggml.model = llama` metadata.
    init(metadata m: TokenizerMetadata) throws {
        let v = try GGUFVocabulary(m)
        let scores = m.scores ?? Array(repeating: 0, count: m.tokens.count)
        guard scores.count >= m.tokens.count else {
            throw TokenizerError.malformed(path: m.source, field: "tokenizer.ggml.scores", reason: "has \(scores.count) entries for \(m.tokens.count) tokens")
        }
        // SentencePiece merges into normal, user-defined and unused pieces only.
        let mergeable = v.types.map { $0 == .normal || $0 == .userDefined || $0 == .unused }
        var parts = Parts(vocabulary: v.vocabulary, mergeOrder: .scores(scores, mergeable: mergeable), addedTokens: v.addedTokens)
        let prefix = m.addSpacePrefix ?? true
        parts.spacePrefix = prefix ? .everySegment : .none
        parts.stripsLeadingSpaces = prefix ? 1 : 0
        for (id, token) in m.tokens.enumerated() where v.types[id] == .byte || (m.tokenTypes == nil && token.hasPrefix("<0x")) {
            guard token.count == 6, token.hasPrefix("<0x"), token.hasSuffix(">"), let b = UInt8(token.dropFirst(3).prefix(2), radix: 16) else {
                if v.types[id] != .byte { continue }
                throw TokenizerError.malformed(path: m.source, field: "tokenizer.ggml.tokens[\(id)]", reason: "is a byte token but not '<0xXX>': '\(token)'")
            }
            parts.byteIds[id] = b
        }
        parts.unusedIds = Set(v.types.indices.filter { v.types[$0] == .unused })
        let unknown = try v.checked(m.unknownId, key: "tokenizer.ggml.unknown_token_id") ?? (m.tokens.count > 0 ? 0 : nil)
        parts.unknownId = unknown
        let count = m.tokens.count
        let special = try v.specialTokens(addsBOSByDefault: true, defaultBOS: count > 1 ? 1 : nil, defaultEOS: count > 2 ? 2 : nil, unknownId: unknown)
        parts.template = special.template
        parts.beginningOfSequenceId = special.bos
        parts.endOfSequenceId = special.eos
        parts.paddingId = special.padding
        self.init(parts)
    }
}
