import FuzzSupport
import Models
import Tensors

// Input: a tokenizer.json. The tokenizer it describes encodes a few strings (ASCII, accents,
// CJK, emoji, control bytes, special-token text, part of the input itself) and decodes the ids,
// and the first ids of the vocabulary.

let samples = ["Hello world", "  leading spaces and\ttabs\n", "naïve café Ünïcödé", "日本語のテキスト", "🙂👍🏽 emoji",
               "<|endoftext|><s></s>[CLS][SEP]", "x\u{0}y\u{7f}", "12345 67.89", ""]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Fuzz.bytes(data, size)
    guard let json = try? JSONValue.parse(bytes),
          let tokenizer = try? TokenizerLoader.load(json: json, path: "/nonexistent-fuzz-dir/tokenizer.json") else { return 0 }
    let own = String(decoding: bytes.prefix(64), as: UTF8.self)
    for text in samples + [own] {
        for special in [true, false] {
            let encoding = tokenizer.encode(text, addSpecialTokens: special)
            _ = tokenizer.decode(encoding.ids, skipSpecialTokens: !special)
        }
    }
    _ = tokenizer.decode(Array(0..<min(tokenizer.vocabularySize, 256)), skipSpecialTokens: false)
    _ = tokenizer.encodeBatch(["a b", "longer text here"])
    return 0
}
