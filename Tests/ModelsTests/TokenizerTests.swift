import Foundation
import Testing
@testable import Models
import Tensors

@Suite struct TokenizerTests {
    func bpe() throws -> any Tokenizer {
        let folder = temporaryFolder("bpe")
        let symbols = ByteLevelBPETokenizer.byteSymbols.map(String.init)
        var vocab = ["<|endoftext|>": 0]
        for (i, s) in symbols.enumerated() { vocab[s] = i + 1 }
        vocab["he"] = 257
        vocab["hel"] = 258
        let vocabJSON = vocab.map { "\(JSONValue.string($0.key).serialized()): \($0.value)" }.joined(separator: ",")
        write("""
        {"added_tokens": [{"id": 0, "content": "<|endoftext|>", "special": true}], "normalizer": null,
         "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false},
         "model": {"type": "BPE", "vocab": {\(vocabJSON)}, "merges": ["h e", "he l"]}}
        """, to: folder + "/tokenizer.json")
        return try TokenizerLoader.load(path: folder + "/tokenizer.json")
    }

    @Test func byteLevelBPERoundTrips() throws {
        let t = try bpe()
        let e = t.encode("hello wörld<|endoftext|>")
        #expect(e.ids.first == 258)
        #expect(e.ids.last == 0)
        #expect(t.decode(e.ids, skipSpecialTokens: false) == "hello wörld<|endoftext|>")
        #expect(t.decode(e.ids) == "hello wörld")
    }

    @Test func batchesPadWithMasks() throws {
        let t = try bpe()
        let right = t.encodeBatch(["hel", "hello"])
        #expect(right.ids.shape == [2, 3])
        #expect(right.attentionMask == [[true, false, false], [true, true, true]])
        let left = t.encodeBatch(["hel", "hello"], padding: .left)
        #expect(left.attentionMask[0] == [false, false, true])
        #expect(left.ids.values[2] == 258)
    }

    @Test func unsupportedTokenizersThrowNamingTheField() throws {
        let folder = temporaryFolder("tok")
        write(#"{"model": {"type": "Unigram", "vocab": []}}"#, to: folder + "/a.json")
        #expect(throws: TokenizerError.unsupported(path: folder + "/a.json", field: "model.type", value: "Unigram", supported: "BPE (byte-level), WordPiece")) {
            try TokenizerLoader.load(path: folder + "/a.json")
        }
        write(#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "pre_tokenizer": {"type": "Metaspace"}}"#, to: folder + "/b.json")
        #expect(throws: TokenizerError.self) { try TokenizerLoader.load(path: folder + "/b.json") }
        write(#"{"model": {"type": "WordPiece", "vocab": {"a": "zero"}}}"#, to: folder + "/c.json")
        #expect(throws: TokenizerError.self) { try TokenizerLoader.load(path: folder + "/c.json") }
        write("[1, 2", to: folder + "/d.json")
        #expect(throws: TokenizerError.self) { try TokenizerLoader.load(path: folder + "/d.json") }
    }

    @Test func wordPieceSplitsAndDecodes() throws {
        let folder = temporaryFolder("wp")
        write("""
        {"normalizer": {"type": "BertNormalizer", "lowercase": true}, "pre_tokenizer": {"type": "BertPreTokenizer"},
         "model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "play": 4, "##ing": 5, "!": 6, "cafe": 7}}}
        """, to: folder + "/tokenizer.json")
        let t = try TokenizerLoader.load(path: folder + "/tokenizer.json")
        let e = t.encode("Playing! Café xyz")
        #expect(e.tokens == ["[CLS]", "play", "##ing", "!", "cafe", "[UNK]", "[SEP]"])
        #expect(e.offsets[1] == 0..<4 && e.offsets[2] == 4..<7 && e.offsets[4] == 9..<13)
        #expect(t.decode(e.ids) == "playing ! cafe [UNK]")
    }
}
