import Foundation
import Testing
@testable import Models
import Tensors

/// GGUF metadata: SentencePiece details and typed errors naming the tokenizer.ggml.* key.
@Suite struct TokenizerMetadataTests {
    /// A tiny SentencePiece vocabulary: "▁ab" is unused (resegmented), "<x>" user-defined.
    func spm(_ change: (inout TokenizerMetadata) -> Void = { _ in }) throws -> any Tokenizer {
        var m = TokenizerMetadata(model: "llama", tokens: ["<unk>", "<s>", "</s>", "▁", "a", "b", "▁a", "ab", "▁ab", "<x>", "<0x0A>", "<0xC3>", "<0xA9>"],
                                  scores: [0, 0, 0, -1, -2, -3, 5, 1, 10, 0, 0, 0, 0], tokenTypes: [2, 3, 3, 1, 1, 1, 1, 1, 5, 4, 6, 6, 6])
        change(&m)
        return try TokenizerLoader.load(ggufMetadata: m)
    }

    @Test func sentencePieceResegmentsUnusedPiecesAndFallsBackToBytes() throws {
        let t = try spm()
        #expect(t.encode("ab").ids == [1, 6, 5])
        #expect(t.encode("ab").tokens == ["<s>", "▁a", "b"])
        #expect(t.encode("a\né", addSpecialTokens: false).ids == [6, 10, 11, 12])
        #expect(t.encode("a\né", addSpecialTokens: false).offsets == [0..<1, 1..<2, 2..<3, 2..<3])
        #expect(t.encode("a<x>b", addSpecialTokens: false).ids == [6, 9, 3, 5])
        #expect(t.encode("z", addSpecialTokens: false).ids == [3, 0])
        #expect(t.decode([1, 6, 10, 11, 12, 9, 3, 5]) == "a\né<x> b")
        #expect(t.decode([1, 6, 2], skipSpecialTokens: false) == "<s> a</s>")
        #expect(t.decode([11]) == "\u{FFFD}")
        let noPrefix = try spm { $0.addSpacePrefix = false; $0.addBOS = false; $0.addEOS = true }
        #expect(noPrefix.encode("ab").ids == [7, 2])
        #expect(noPrefix.decode([3, 4]) == " a")
    }

    @Test func badMetadataThrowsNamingTheKey() throws {
        #expect(throws: TokenizerError.unsupported(path: "GGUF metadata", field: "tokenizer.ggml.model", value: "t5", supported: "gpt2, llama")) {
            try TokenizerLoader.load(ggufMetadata: TokenizerMetadata(model: "t5", tokens: ["a"]))
        }
        #expect(throws: TokenizerError.malformed(path: "GGUF metadata", field: "tokenizer.ggml.tokens", reason: "is empty")) {
            try TokenizerLoader.load(ggufMetadata: TokenizerMetadata(model: "gpt2", tokens: []))
        }
        #expect(throws: TokenizerError.self) { try spm { $0.tokenTypes?[4] = 9 } }
        #expect(throws: TokenizerError.self) { try spm { $0.tokens[5] = "a" } }
        #expect(throws: TokenizerError.self) { try spm { $0.scores = [0] } }
        #expect(throws: TokenizerError.self) { try spm { $0.tokens[10] = "<0xZZ>" } }
        #expect(throws: TokenizerError.malformed(path: "GGUF metadata", field: "tokenizer.ggml.bos_token_id", reason: "is 99, outside the vocabulary 0..<13")) {
            try spm { $0.bosId = 99 }
        }
        let gpt2 = TokenizerMetadata(model: "gpt2", pre: "qwen2", tokens: ["a", "b", "ab"], merges: ["a b"])
        #expect(try TokenizerLoader.load(ggufMetadata: gpt2).encode("ab").ids == [2])
        var unknownPre = gpt2
        unknownPre.pre = "tekken"
        #expect(throws: TokenizerError.self) { try TokenizerLoader.load(ggufMetadata: unknownPre) }
        var badMerge = gpt2
        badMerge.merges = ["ab"]
        #expect(throws: TokenizerError.malformed(path: "GGUF metadata", field: "tokenizer.ggml.merges[0]", reason: "is not 'left right'")) {
            try TokenizerLoader.load(ggufMetadata: badMerge)
        }
        var bosWithoutId = gpt2
        bosWithoutId.addBOS = true
        #expect(throws: TokenizerError.self) { try TokenizerLoader.load(ggufMetadata: bosWithoutId) }
    }

    @Test func metadataDecodesFromJSONWithDefaults() throws {
        let json = #"{"model": "gpt2", "tokens": ["a"], "addBOS": false}"#
        let m = try JSONDecoder().decode(TokenizerMetadata.self, from: Data(json.utf8))
        #expect(m == TokenizerMetadata(model: "gpt2", tokens: ["a"], addBOS: false))
    }

    @Test func tokenizerJSONSpecialTokenSettingsAreChecked() throws {
        let folder = temporaryFolder("spm-config")
        write("""
        {"normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}, "added_tokens": [{"id": 1, "content": "<s>", "special": true}],
         "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
          "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
         "model": {"type": "BPE", "byte_fallback": true, "vocab": {"<unk>": 0, "<s>": 1, "▁": 2, "a": 3, "▁a": 4}, "merges": [["▁", "a"]], "unk_token": "<unk>"}}
        """, to: folder + "/tokenizer.json")
        #expect(try TokenizerLoader.load(path: folder + "/tokenizer.json").encode(" a").ids == [1, 4])
        write(#"{"add_bos_token": false}"#, to: folder + "/tokenizer_config.json")
        #expect(try TokenizerLoader.load(path: folder + "/tokenizer.json").encode(" a b").ids == [4, 2, 0])
        write(#"{"add_eos_token": true, "eos_token": {"content": "</s>"}}"#, to: folder + "/tokenizer_config.json")
        #expect(throws: TokenizerError.malformed(path: folder + "/tokenizer_config.json", field: "eos_token",
                                                 reason: "must name a token of the vocabulary when add_eos_token is true")) {
            try TokenizerLoader.load(path: folder + "/tokenizer.json")
        }
    }
}
