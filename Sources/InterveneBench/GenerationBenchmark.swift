import Foundation
import Models
import Tensors

/// The `generation` workload (the reference's `bench_generation`): GPT-2 small config, random
/// init, batch 8 × 64-token prompt, 64 greedy new tokens with the key/value cache, no stop
/// tokens (every row generates all 64). Checks first that cached and uncached greedy decoding
/// agree on the first 4 tokens.
enum GenerationBenchmark {
    static func run(reps: Int) throws -> [String: Any] {
        let model = try GPT2Family.model(GPT2Family.small)
        model.initializeRandomly(seed: 0)
        let batch = 8, promptLength = 64, newTokens = 64
        var g = RandomGenerator(seed: 3)
        let prompt = IndexTensor(shape: [batch, promptLength], values: (0..<(batch * promptLength)).map { _ in g.nextInt(below: 50257) })

        let (sequences, ms) = try Tensor.withoutGradients {
            let cached = try Generator.generate(model, prompt: prompt, config: GenerationConfig(maxNewTokens: 4))
            let uncached = try Generator.generate(model, prompt: prompt, config: GenerationConfig(maxNewTokens: 4, useCache: false))
            guard cached.sequences == uncached.sequences else {
                throw BenchmarkFailure(description: "cached and uncached greedy decoding disagree")
            }
            var last: GenerationResult?
            let ms = Timing.medianMilliseconds(warmup: 1, reps: reps) {
                last = try? Generator.generate(model, prompt: prompt, config: GenerationConfig(maxNewTokens: newTokens))
            }
            return (last?.sequences ?? [], ms)
        }
        guard sequences.count == batch, sequences.allSatisfy({ $0.count == promptLength + newTokens }) else {
            throw BenchmarkFailure(description: "generation did not produce \(newTokens) tokens for every row")
        }
        return [
            "workload": "generation", "threads": BLAS.threads, "batch": batch, "prompt_len": promptLength, "new_tokens": newTokens,
            "generate_ms": rounded(ms, 1), "new_tokens_per_s": rounded(Double(batch * newTokens) / (ms / 1000), 1),
            "peak_rss_mib": rounded(Timing.peakRSSMiB(), 1),
            "method": "median of \(reps) calls after 1 warm-up; greedy, key/value cache, no gradients",
        ]
    }
}
