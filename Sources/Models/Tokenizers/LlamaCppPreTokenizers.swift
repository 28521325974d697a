/// What llama.cpp does for one value of `tokenizer.ggml.pre` (a byte-level BPE model's
/// pre-tokenizer name): the splitting steps and the two flags the name switches on.
public struct LlamaCppPreTokenizer: Sendable {
    /// The splitting steps.
    public let preTokenizer: PreTokenizer
    /// A piece that is itself in the vocabulary is emitted whole, without merging (`ignore_merges`).
    public let ignoresMerges: Bool
    /// BOS is added when the file has no `tokenizer.ggml.add_bos_token` key.
    public let addsBOSByDefault: Bool
}

extension PreTokenizer {
    /// Llama 3's pattern as llama.cpp writes it (`(?i:…)` spelled out as `'[sS]`…).
    public static let llama3Pattern =
        #"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    /// Qwen2's pattern: Llama 3's with single digits.
    public static let qwen2Pattern =
        #"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    private static func compiled(_ pattern: String) -> Step {
        // The patterns are constants checked by the tests; a failure here is a programming error.
        .regex(try! RegexSplit(pattern: pattern))
    }

    private static let llama3 = PreTokenizer([compiled(llama3Pattern)])
    private static let qwen2 = PreTokenizer([compiled(qwen2Pattern)])
    /// llama.cpp's fallback when the name is `default` or missing: punctuation runs, then GPT-2's
    /// pattern, then number runs, then three ASCII digits.
    private static let llamaCppDefault = PreTokenizer([
        compiled(#"[\p{P}\$\+<=>\^~\|]+"#), .gpt2, compiled(#"\p{N}+"#), compiled("[0-9][0-9][0-9]"),
    ])
    /// Every \p{N} character alone, then GPT-2's pattern on each remaining stretch.
    private static let digitsThenGPT2 = PreTokenizer([.digits(individual: true), .gpt2])

    /// The `tokenizer.ggml.pre` names understood, grouped by behaviour.
    static let llamaCppNames: [(names: [String], pre: LlamaCppPreTokenizer)] = [
        (["default"], LlamaCppPreTokenizer(preTokenizer: llamaCppDefault, ignoresMerges: false, addsBOSByDefault: false)),
        (["gpt-2", "gpt2", "phi-2", "mpt", "olmo"],
         LlamaCppPreTokenizer(preTokenizer: .gpt2, ignoresMerges: false, addsBOSByDefault: false)),
        (["smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b"],
         LlamaCppPreTokenizer(preTokenizer: digitsThenGPT2, ignoresMerges: false, addsBOSByDefault: false)),
        (["llama-bpe", "llama3", "llama-v3", "falcon3", "pixtral"],
         LlamaCppPreTokenizer(preTokenizer: llama3, ignoresMerges: true, addsBOSByDefault: true)),
        (["dbrx", "smaug-bpe"], LlamaCppPreTokenizer(preTokenizer: llama3, ignoresMerges: false, addsBOSByDefault: false)),
        (["qwen2", "deepseek-r1-qwen", "stablelm2", "megrez"],
         LlamaCppPreTokenizer(preTokenizer: qwen2, ignoresMerges: false, addsBOSByDefault: false)),
    ]

    /// Every supported `tokenizer.ggml.pre` name.
    public static var llamaCppPreTokenizerNames: [String] { llamaCppNames.flatMap(\.names) }

    /// llama.cpp's behaviour for a `tokenizer.ggml.pre` value (nil or empty means `default`, as
    /// llama.cpp falls back to it); nil when the name is not supported.
    public static func llamaCpp(named name: String?) -> LlamaCppPreTokenizer? {
        let key = (name ?? "").isEmpty ? "default" : name!
        return llamaCppNames.first { $0.names.contains(key) }?.pre
    }
}
