import Foundation
import Testing
import Models
import Tensors

/// Inputs the libFuzzer harnesses (Fuzz/) found that crashed or exhausted memory, kept as
/// fixtures in Tests/Fixtures/fuzz: each must now throw a typed error.
@Suite struct ModelsFuzzRegressionTests {
    static func fixture(_ name: String) throws -> [UInt8] {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<2 { url.deleteLastPathComponent() }
        return [UInt8](try Data(contentsOf: url.appendingPathComponent("Fixtures/fuzz/" + name)))
    }

    /// A tiny llama GGUF whose llama.feed_forward_length was mutated to 50 331 656: building the
    /// model first allocated 2.4 GB. Sizes whose weights outnumber the file's tensor elements are
    /// now refused before anything is allocated.
    @Test func ggufSizesBeyondTheStoredTensorsAreRefused() throws {
        let bytes = try Self.fixture("gguf-huge-feed-forward.gguf")
        let file = try bytes.withUnsafeBytes { try GGUFFile(bytes: $0, name: "huge.gguf") }
        let error = try #require(throws: ModelError.self) { try GGUFModelLoader.load(file: file) }
        guard case .invalidConfig(let path, let field, let value, let expected) = error else {
            Issue.record("expected invalidConfig, got \(error)")
            return
        }
        #expect(path == "huge.gguf" && field.contains("feed_forward_length"))
        #expect(value.contains("feed_forward_length 50331656") && expected.contains("tensor elements the file stores"))
    }

    /// The lower bound on a config's weights: embedding plus q, k, v, o and two MLP matrices per layer.
    @Test func minimumWeightCountCountsTheMatrices() throws {
        var config = GPT2Family.config(vocabularySize: 10, positions: 8, width: 4, layers: 2, heads: 2)
        #expect(config.minimumWeightCount == 10 * 4 + 2 * (4 * 4 * 4 + 2 * 4 * config.intermediate))
        config.intermediate = Int.max / 2
        #expect(config.minimumWeightCount == nil)
    }
}
