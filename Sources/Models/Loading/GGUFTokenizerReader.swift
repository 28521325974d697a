import Tensors

/// The tokenizer a GGUF file describes in its `tokenizer.ggml.*` metadata.
enum GGUFTokenizerReader {
    static func tokenizer(from m: GGUFMetadataReader) throws -> (any Tokenizer)? { nil }
}
