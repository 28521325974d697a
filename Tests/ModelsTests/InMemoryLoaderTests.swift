import Foundation
import Testing
import Models
import Tensors

/// Tokenizers and GGUF models built from data already in memory match the path-based loaders.
@Suite struct InMemoryLoaderTests {
    static let fixtures: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<2 { url.deleteLastPathComponent() }
        return url.path + "/Fixtures/tokenizers"
    }()

    @Test func tokenizerFromParsedJSONMatchesTheFile() throws {
        let path = Self.fixtures + "/bpe-qwen2/tokenizer.json"
        let fromFile = try TokenizerLoader.load(path: path)
        let fromJSON = try TokenizerLoader.load(json: try JSONValue.parse(contentsOf: path), path: "/nowhere/tokenizer.json")
        for text in ["Hello world", "naïve café 日本語 🙂", ""] {
            #expect(fromJSON.encode(text).ids == fromFile.encode(text).ids)
        }
        #expect(throws: TokenizerError.malformed(path: "memory", field: "model", reason: "is missing or not an object")) {
            try TokenizerLoader.load(json: try JSONValue.parse("{}"), path: "memory")
        }
    }

    @Test func ggufTokenizerFromAnOpenedFile() throws {
        var w = try GGUFWriter()
        w.set("tokenizer.ggml.model", .string("gpt2"))
        w.set("tokenizer.ggml.tokens", .array(.string, ["a", "b", "ab"].map { .string($0) }))
        w.set("tokenizer.ggml.merges", .array(.string, [.string("a b")]))
        let file = try w.encode().withUnsafeBytes { try GGUFFile(bytes: $0, name: "memory.gguf") }
        let tokenizer = try #require(try GGUFModelLoader.tokenizer(from: file))
        #expect(tokenizer.encode("ab", addSpecialTokens: false).ids == [2])
        var bare = try GGUFWriter()
        bare.set("general.name", .string("no tokenizer"))
        #expect(try GGUFModelLoader.tokenizer(from: try bare.encode().withUnsafeBytes { try GGUFFile(bytes: $0, name: "bare.gguf") }) == nil)
    }
}
