import Testing
@testable import Models
import Tensors

@Suite struct GenerationTests {
    @Test func cacheAndNoCacheAgree() throws {
        for model in [tinyGPT2() as any CausalLanguageModel, try tinyLlama()] {
            let prompt = ids([[1, 2, 3], [4, 5, 6]])
            let cached = try Generator.generate(model, prompt: prompt, config: GenerationConfig(maxNewTokens: 8))
            let uncached = try Generator.generate(model, prompt: prompt, config: GenerationConfig(maxNewTokens: 8, useCache: false))
            #expect(cached.sequences == uncached.sequences)
            #expect(cached.sequences[0].count == 11)
            #expect(Set(cached.sequences.flatMap { $0.suffix(8) }).count > 1)  // not a constant output
            let plain = try model(.tokens(prompt)).logits.narrowed(1, start: 2, length: 1).reshaped([2, -1])
            #expect(maxDifference(cached.firstStepLogits, plain) < 1e-5)
        }
    }

    /// Appends that do not fit the cache throw a ModelError naming the layer, expected and actual.
    @Test func cacheRejectsMisfittingAppends() throws {
        let cache = KeyValueCache(layers: 2, batchSize: 2, capacity: 4, width: 8)
        func append(layer: Int = 1, _ shape: [Int], values: [Int]? = nil) throws {
            _ = try cache.append(layer: layer, keys: Tensor.zeros(shape), values: Tensor.zeros(values ?? shape))
        }
        #expect(throws: ModelError.cacheMismatch(layer: 1, field: "batch size", expected: "2", actual: "3")) { try append([3, 1, 8]) }
        #expect(throws: ModelError.cacheMismatch(layer: 1, field: "width", expected: "8", actual: "6")) { try append([2, 1, 6]) }
        #expect(throws: ModelError.cacheMismatch(layer: 1, field: "values shape", expected: "the keys shape [2, 1, 8]", actual: "[2, 1, 7]")) {
            try append([2, 1, 8], values: [2, 1, 7])
        }
        #expect(throws: ModelError.cacheMismatch(layer: 2, field: "layer", expected: "0..<2", actual: "2")) { try append(layer: 2, [2, 1, 8]) }
        try append(layer: 0, [2, 3, 8])
        cache.advance(by: 3)
        let full = ModelError.cacheMismatch(layer: 0, field: "tokens", expected: "at most 4 (the capacity)", actual: "3 cached + 2 new")
        #expect(throws: full) { try append(layer: 0, [2, 2, 8]) }
        #expect("\(full)" == "key/value cache, layer 0: tokens is 3 cached + 2 new; expected at most 4 (the capacity)")
    }

    @Test func seededSamplingIsReproducible() throws {
        let model = tinyGPT2()
        let prompt = ids([[1, 2, 3]])
        let config = GenerationConfig(maxNewTokens: 10, strategy: .sample(temperature: 1.5, topK: 10, topP: 0.9), seed: 7)
        let a = try Generator.generate(model, prompt: prompt, config: config)
        let b = try Generator.generate(model, prompt: prompt, config: config)
        #expect(a.sequences == b.sequences)
        var other = config
        other.seed = 8
        let runs = try (0..<5).map { s -> [[Int]] in
            other.seed = UInt64(100 + s)
            return try Generator.generate(model, prompt: prompt, config: other).sequences
        }
        #expect(Set(runs.map { $0[0] }).count > 1)
        // Top-k of 1 is greedy.
        let greedy = try Generator.generate(model, prompt: prompt, config: GenerationConfig(maxNewTokens: 6))
        let topOne = try Generator.generate(model, prompt: prompt, config: GenerationConfig(maxNewTokens: 6, strategy: .sample(topK: 1)))
        #expect(greedy.sequences == topOne.sequences)
    }

    @Test func samplingRespectsTopKAndTopP() throws {
        let model = tinyGPT2()
        let prompt = ids([[1, 2, 3]])
        let greedy = try Generator.generate(model, prompt: prompt, config: GenerationConfig(maxNewTokens: 6))
        for config in [GenerationConfig(maxNewTokens: 6, strategy: .sample(temperature: 2, topK: 1, topP: nil), seed: 3),
                       GenerationConfig(maxNewTokens: 6, strategy: .sample(temperature: 2, topK: nil, topP: 1e-6), seed: 3)] {
            #expect(try Generator.generate(model, prompt: prompt, config: config).sequences == greedy.sequences)
        }
        // Top-3 sampling only ever picks one of the three most likely first tokens.
        let top3 = Set(greedy.firstStepLogits.topK(3).indices.values)
        for seed in 0..<20 {
            let config = GenerationConfig(maxNewTokens: 1, strategy: .sample(temperature: 5, topK: 3, topP: nil), seed: UInt64(seed))
            #expect(top3.contains(try Generator.generate(model, prompt: prompt, config: config).sequences[0][3]))
        }
    }

    @Test func stopTokensEndASequence() throws {
        let model = tinyGPT2()
        let prompt = ids([[1, 2, 3]])
        let free = try Generator.generate(model, prompt: prompt, config: GenerationConfig(maxNewTokens: 6))
        let stop = free.sequences[0][4]
        let stopped = try Generator.generate(model, prompt: prompt, config: GenerationConfig(maxNewTokens: 6, stopTokens: [stop], padToken: 0))
        let expectedCount = free.sequences[0][3] == stop ? 1 : 2
        #expect(stopped.generatedCounts[0] == expectedCount)
        #expect(stopped.sequences[0] == Array(free.sequences[0].prefix(3 + expectedCount)))
        // In a batch, a finished sequence is padded while the others continue.
        let batch = try Generator.generate(model, prompt: ids([[1, 2, 3], [9, 9, 9]]), config: GenerationConfig(maxNewTokens: 6, stopTokens: [stop], padToken: 0))
        #expect(batch.generatedCounts[0] == expectedCount)
        #expect(batch.sequences[0].count == 9 && batch.sequences[0].dropFirst(3 + expectedCount).allSatisfy { $0 == 0 })
        #expect(batch.sequences[0].prefix(3 + expectedCount) == stopped.sequences[0].prefix(3 + expectedCount))
    }

    @Test func leftPaddingMatchesUnpaddedPrompts() throws {
        let model = tinyGPT2()
        let alone = try Generator.generate(model, prompt: ids([[7, 8]]), config: GenerationConfig(maxNewTokens: 5))
        let padded = try Generator.generate(model, prompt: ids([[0, 0, 7, 8], [1, 2, 3, 4]]),
                                            attentionMask: [[false, false, true, true], [true, true, true, true]],
                                            config: GenerationConfig(maxNewTokens: 5))
        #expect(Array(padded.sequences[0].suffix(5)) == Array(alone.sequences[0].suffix(5)))
    }

    @Test func invalidSettingsThrow() throws {
        let model = tinyGPT2()
        #expect(throws: ModelError.self) { try Generator.generate(model, prompt: ids([[1]]), config: GenerationConfig(maxNewTokens: 100)) }
        #expect(throws: ModelError.self) { try Generator.generate(model, prompt: ids([[1]]), config: GenerationConfig(maxNewTokens: 2, strategy: .sample(temperature: 0))) }
    }
}
