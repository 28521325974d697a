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
        write(#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "pre_tokenizer": {"type": "Whitespace"}}"#, to: folder + "/b.json")
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

/// The pieces byte-level and SentencePiece BPE are built from.
@Suite struct TokenizerPartsTests {
    func pieces(_ pre: PreTokenizer, _ text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        return pre.split(scalars).map { String(String.UnicodeScalarView(scalars[$0])) }
    }

    @Test func regexSplitCountsEveryWhiteSpaceAndAstralCharacters() throws {
        let spaces = PreTokenizer([.regex(try RegexSplit(pattern: #"\s+|\S+"#))])
        #expect(pieces(spaces, "a\u{0B}\u{85}b 😀x") == ["a", "\u{0B}\u{85}", "b", " ", "😀x"])
        #expect(RegexSplit.icuPattern(#"[^\s\\s]\S"#) == #"[^\p{White_Space}\\s]\P{White_Space}"#)
        let llama3 = try #require(PreTokenizer.llamaCpp(named: "llama-bpe"))
        #expect(llama3.ignoresMerges && llama3.addsBOSByDefault)
        #expect(pieces(llama3.preTokenizer, "I'LL pay 1234567 €😀\n\n x") == ["I", "'LL", " pay", " ", "123", "456", "7", " €😀\n\n", " x"])
        let qwen2 = try #require(PreTokenizer.llamaCpp(named: "qwen2"))
        #expect(pieces(qwen2.preTokenizer, "x 123") == ["x", " ", "1", "2", "3"])
        #expect(PreTokenizer.llamaCpp(named: nil) != nil && PreTokenizer.llamaCpp(named: "tekken") == nil)
    }

    @Test func digitsAndGPT2MakeSmolLMsPieces() {
        let smollm = PreTokenizer.llamaCpp(named: "smollm")!.preTokenizer
        #expect(pieces(smollm, "of  42 items") == ["of", "  ", "4", "2", " items"])
        #expect(pieces(.gpt2, "of  42 items") == ["of", " ", " 42", " items"])
        #expect(pieces(PreTokenizer([.digits(individual: false)]), "a12b3") == ["a", "12", "b", "3"])
    }

    @Test func pairMergerTakesTheBestPairThenTheLeftmost() {
        let ranks = ["a a": 0, "aa a": 1, "b c": 0]
        let merged = PairMerger.merge(["a", "a", "a", "b", "c"]) { ranks["\($0) \($1)"].map(Double.init) }
        #expect(merged.symbols.map(\.text) == ["aaa", "bc"])
        #expect(merged.symbols.map(\.span) == [0..<3, 3..<5])
        #expect(PairMerger.merge([]) { _, _ in 0 }.symbols.isEmpty)
        #expect(PairMerger.merge(["x"]) { _, _ in 0 }.symbols.map(\.text) == ["x"])
    }

    @Test func addedTokensMatchLongestFirstAndStripWhitespace() {
        let matcher = AddedTokenMatcher([
            AddedToken(content: "<a>", id: 1, special: true),
            AddedToken(content: "<a><b>", id: 2, special: true),
            AddedToken(content: "<m>", id: 3, special: false, stripsLeft: true, stripsRight: true),
        ])
        let text = Array("x<a><b>y  <m>  z<a>".unicodeScalars)
        let segments = matcher.split(text)
        #expect(segments.map { $0.token?.id } == [nil, 2, nil, 3, nil, 1])
        #expect(segments.map(\.range) == [0..<1, 1..<7, 7..<8, 8..<15, 15..<16, 16..<19])
    }

    @Test func byteLevelJSONFormsMapOntoThePreTokenizer() throws {
        let folder = temporaryFolder("bpe-digits")
        let symbols = ByteLevelBPETokenizer.byteSymbols.map(String.init)
        let vocab = symbols.enumerated().map { "\(JSONValue.string($1).serialized()): \($0)" }.joined(separator: ",")
        write("""
        {"normalizer": null, "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": true},
         {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true}]},
         "model": {"type": "BPE", "vocab": {\(vocab), "12": 256}, "merges": [["1", "2"]]}}
        """, to: folder + "/tokenizer.json")
        let t = try TokenizerLoader.load(path: folder + "/tokenizer.json")
        #expect(t.encode("12").tokens == ["1", "2"])
        write("""
        {"pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "(unclosed"}, "behavior": "Isolated"},
         {"type": "ByteLevel"}]}, "model": {"type": "BPE", "vocab": {\(vocab)}, "merges": []}}
        """, to: folder + "/bad.json")
        #expect(throws: TokenizerError.self) { try TokenizerLoader.load(path: folder + "/bad.json") }
        write("""
        {"pre_tokenizer": {"type": "Split", "pattern": {"String": " "}, "behavior": "MergedWithNext"}, "decoder": {"type": "ByteLevel"},
         "model": {"type": "BPE", "vocab": {\(vocab)}, "merges": []}}
        """, to: folder + "/merged.json")
        #expect(throws: TokenizerError.unsupported(path: folder + "/merged.json", field: "pre_tokenizer.behavior", value: "MergedWithNext", supported: "Isolated")) {
            try TokenizerLoader.load(path: folder + "/merged.json")
        }
    }
}
