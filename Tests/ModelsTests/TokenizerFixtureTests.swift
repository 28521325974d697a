import Foundation
import Testing
@testable import Models
import Tensors

/// The committed tokenizer fixtures (Tests/Fixtures/tokenizers, made by make_tokenizer_fixtures.py
/// with sentencepiece, tokenizers and transformers; see the README there).
enum TokenizerFixtures {
    static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static let folder = repositoryRoot + "/Tests/Fixtures/tokenizers"

    static func cases(_ key: String) throws -> [JSONValue] {
        try #require(try JSONValue.parse(contentsOf: folder + "/cases.json")[key]?.arrayValue)
    }

    static func ints(_ value: JSONValue?) -> [Int]? { value?.arrayValue?.compactMap(\.intValue) }

    /// The SentencePiece model as GGUF metadata (what llama.cpp's converter writes).
    static func sentencePieceMetadata() throws -> TokenizerMetadata {
        try JSONDecoder().decode(TokenizerMetadata.self, from: Data(contentsOf: URL(fileURLWithPath: folder + "/spm-gguf-metadata.json")))
    }

    /// A byte-level tokenizer.json's vocabulary as `gpt2` GGUF metadata.
    static func byteLevelMetadata(_ name: String, pre: String) throws -> TokenizerMetadata {
        let json = try JSONValue.parse(contentsOf: folder + "/\(name)/tokenizer.json")
        let vocab = try #require(json["model"]?["vocab"]?.objectValue)
        var tokens = [String](repeating: "", count: vocab.count)
        for (token, id) in vocab { tokens[id.intValue!] = token }
        let merges = try #require(json["model"]?["merges"]?.arrayValue).map { pair in
            pair.stringValue ?? pair.arrayValue!.compactMap(\.stringValue).joined(separator: " ")
        }
        var types = [Int](repeating: 1, count: tokens.count)
        types[0] = 3
        types[1] = 3
        return TokenizerMetadata(model: "gpt2", pre: pre, tokens: tokens, merges: merges, tokenTypes: types, bosId: 0, eosId: 1)
    }
}

@Suite struct TokenizerFixtureTests {
    @Test func tokenizerJSONFilesMatchHuggingFace() throws {
        var loaded: [String: any Tokenizer] = [:]
        let cases = try TokenizerFixtures.cases("encode")
        #expect(cases.count >= 75)
        for c in cases {
            let name = try #require(c["tokenizer"]?.stringValue), text = try #require(c["text"]?.stringValue)
            let tokenizer = try loaded[name] ?? TokenizerLoader.load(path: TokenizerFixtures.folder + "/\(name)/tokenizer.json")
            loaded[name] = tokenizer
            let full = tokenizer.encode(text, addSpecialTokens: true), plain = tokenizer.encode(text, addSpecialTokens: false)
            #expect(full.ids == TokenizerFixtures.ints(c["ids"]), "\(name): \(text.debugDescription)")
            #expect(plain.ids == TokenizerFixtures.ints(c["ids_no_special"]), "\(name): \(text.debugDescription)")
            #expect(plain.tokens == c["tokens_no_special"]?.arrayValue?.compactMap(\.stringValue), "\(name): \(text.debugDescription)")
            if let offsets = c["offsets_no_special"]?.arrayValue {
                #expect(plain.offsets.map { [$0.lowerBound, $0.upperBound] } == offsets.map { TokenizerFixtures.ints($0)! },
                        "\(name): \(text.debugDescription)")
            }
            #expect(tokenizer.decode(full.ids) == c["decode"]?.stringValue, "\(name): \(text.debugDescription)")
            #expect(tokenizer.decode(full.ids, skipSpecialTokens: false) == c["decode_keep_special"]?.stringValue, "\(name): \(text.debugDescription)")
        }
        #expect(loaded["spm-llama-legacy"] is SentencePieceBPETokenizer && loaded["bpe-qwen2"] is ByteLevelBPETokenizer)
        #expect(loaded["spm-llama-metaspace"]?.endOfSequenceId == 2 && loaded["bpe-llama3"]?.beginningOfSequenceId == 0)
    }

    @Test func ggufSentencePieceMatchesSentencePieceAndLlamaCpp() throws {
        let tokenizer = try TokenizerLoader.load(ggufMetadata: try TokenizerFixtures.sentencePieceMetadata())
        for c in try TokenizerFixtures.cases("gguf_spm") {
            let text = try #require(c["text"]?.stringValue), ids = try #require(TokenizerFixtures.ints(c["ids"]))
            #expect(tokenizer.encode(text).ids == ids, "\(text.debugDescription)")
            #expect(tokenizer.decode(ids) == c["decode"]?.stringValue, "\(text.debugDescription)")
            if !text.contains("<") {
                #expect(tokenizer.encode(text, addSpecialTokens: false).ids == TokenizerFixtures.ints(c["sentencepiece_ids"]))
            }
        }
        #expect(tokenizer.beginningOfSequenceId == 1 && tokenizer.endOfSequenceId == 2)
    }

    @Test func ggufByteLevelMatchesTheSameVocabularyAsTokenizerJSON() throws {
        for (name, pre) in [("bpe-llama3", "llama-bpe"), ("bpe-qwen2", "qwen2")] {
            let tokenizer = try TokenizerLoader.load(ggufMetadata: try TokenizerFixtures.byteLevelMetadata(name, pre: pre))
            for c in try TokenizerFixtures.cases("encode") where c["tokenizer"]?.stringValue == name {
                let text = try #require(c["text"]?.stringValue)
                guard Array(text.unicodeScalars) == Array(text.precomposedStringWithCanonicalMapping.unicodeScalars) else { continue }  // llama.cpp does not normalize
                // llama-bpe adds BOS by default (as the JSON's template does); qwen2 does not.
                #expect(tokenizer.encode(text).ids == TokenizerFixtures.ints(c["ids"]), "\(pre): \(text.debugDescription)")
                #expect(tokenizer.decode(tokenizer.encode(text).ids) == c["decode"]?.stringValue)
            }
        }
    }

    @Test func llamaCppPreTokenizersSplitLikeHuggingFaceSplits() throws {
        let cases = try TokenizerFixtures.cases("splits")
        #expect(Set(cases.compactMap { $0["pre"]?.stringValue }) == ["gpt2", "smollm", "llama-bpe", "qwen2", "default"])
        for c in cases {
            let pre = try #require(c["pre"]?.stringValue), text = try #require(c["text"]?.stringValue)
            let splitter = try #require(PreTokenizer.llamaCpp(named: pre))
            let pieces = splitter.preTokenizer.split(Array(text.unicodeScalars)).map { [$0.lowerBound, $0.upperBound] }
            #expect(pieces == c["pieces"]?.arrayValue?.map { TokenizerFixtures.ints($0)! }, "\(pre): \(text.debugDescription)")
        }
    }
}
