import Tensors

/// The tokenizer a GGUF file describes in its `tokenizer.ggml.*` metadata: byte-level BPE
/// (`gpt2`, with the pre-tokenizer `tokenizer.ggml.pre` names) or SentencePiece-style BPE
/// (`llama`), with the special-token ids and add-BOS/EOS settings the file gives.
enum GGUFTokenizerReader {
    /// nil when the file has no `tokenizer.ggml.model`.
    static func tokenizer(from m: GGUFMetadataReader) throws -> (any Tokenizer)? {
        guard let model = try m.optionalString("tokenizer.ggml.model") else { return nil }
        guard let tokens = try m.strings("tokenizer.ggml.tokens") else {
            throw m.fail("tokenizer.ggml.tokens", nil, "the vocabulary (an array of strings) beside tokenizer.ggml.model")
        }
        var metadata = TokenizerMetadata(model: model, tokens: tokens, source: m.file.path)
        metadata.pre = try m.optionalString("tokenizer.ggml.pre")
        metadata.merges = try m.strings("tokenizer.ggml.merges") ?? []
        metadata.scores = try m.numbers("tokenizer.ggml.scores")?.map { Float($0) }
        metadata.tokenTypes = try m.numbers("tokenizer.ggml.token_type")?.map { value in
            guard let type = Int(exactly: value) else {
                throw m.fail("tokenizer.ggml.token_type", .float64(value), "an array of integer token types (1 normal … 6 byte)")
            }
            return type
        }
        metadata.bosId = try m.optionalInt("tokenizer.ggml.bos_token_id", minimum: 0)
        metadata.eosId = try m.optionalInt("tokenizer.ggml.eos_token_id", minimum: 0)
        metadata.unknownId = try m.optionalInt("tokenizer.ggml.unknown_token_id", minimum: 0)
        metadata.paddingId = try m.optionalInt("tokenizer.ggml.padding_token_id", minimum: 0)
        metadata.addBOS = try m.optionalBool("tokenizer.ggml.add_bos_token")
        metadata.addEOS = try m.optionalBool("tokenizer.ggml.add_eos_token")
        metadata.addSpacePrefix = try m.optionalBool("tokenizer.ggml.add_space_prefix")
        return try TokenizerLoader.load(ggufMetadata: metadata)
    }
}
