import Foundation
import Testing
@testable import Models
import Tensors

/// Tokenizers built from GGUF tokenizer metadata (`TokenizerLoader.load(ggufMetadata:)`).
@Suite struct TokenizerGGUFTests {
    /// A dump of the SmolLM2 GGUF's `tokenizer.ggml.*` keys as TokenizerMetadata JSON (made by a
    /// script outside the repository; the GGUF is not committed). The test is skipped without it.
    static let smolLM2Dump = ProcessInfo.processInfo.environment["SMOLLM2_TOKENIZER_METADATA"]

    static var smolLM2Manifest: String? {
        let roots = (ProcessInfo.processInfo.environment["GOLDEN_PATH"] ?? "").split(separator: ":").map(String.init)
            + [TokenizerFixtures.repositoryRoot + "/../shared/golden"]
        return roots.map { $0 + "/smollm2/manifest.json" }.first { FileManager.default.fileExists(atPath: $0) }
    }

    @Test(.enabled(if: smolLM2Dump != nil, "set SMOLLM2_TOKENIZER_METADATA to a metadata dump of SmolLM2-135M-Instruct.Q4_1.gguf"))
    func smolLM2SentencesMatchTheGolden() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: TokenizerGGUFTests.smolLM2Dump!))
        let metadata = try JSONDecoder().decode(TokenizerMetadata.self, from: data)
        let tokenizer = try TokenizerLoader.load(ggufMetadata: metadata)
        let manifest = try JSONValue.parse(contentsOf: try #require(TokenizerGGUFTests.smolLM2Manifest))
        let tokenize = try #require(manifest["cases"]?.arrayValue?.first { $0["kind"]?.stringValue == "tokenize" })
        let sentences = try #require(tokenize["sentences"]?.arrayValue)
        #expect(sentences.count == 12)
        for s in sentences {
            let text = try #require(s["text"]?.stringValue)
            let want = s["ids"]?.arrayValue?.compactMap(\.intValue)
            let got = tokenizer.encode(text, addSpecialTokens: true)
            #expect(got.ids == want, "\(s["name"]?.stringValue ?? "?")")
            #expect(got.tokens == s["tokens"]?.arrayValue?.compactMap(\.stringValue))
            #expect(tokenizer.decode(got.ids) == s["decode"]?.stringValue)
        }
        #expect(tokenizer.endOfSequenceId == 2 && tokenizer.beginningOfSequenceId == 1)
        #expect(tokenizer.encode("<|im_start|>user").ids.first == 1)
    }
}
