import Foundation
import Intervene
import Models
import Tensors

/// The `gpt2_forward` workload: GPT-2 small (random init), batch 8 × 64 tokens; plain forward,
/// one interchange intervention at layer 6 block_output position 10 (source + base forward),
/// run-with-cache of all 12 block outputs, and KV-cache greedy generation; next to the plain pass,
/// its weight products alone (the sgemm rate of the same run).
enum GPT2ForwardBenchmark {
    static func run(reps: Int) throws -> [String: Any] {
        let model = try GPT2Family.model(GPT2Family.small)
        model.initializeRandomly(seed: 0)
        var memory: [String: Double] = ["after_init": rounded(Timing.currentRSSMiB(), 1), "peak_after_init": rounded(Timing.peakRSSMiB(), 1)]
        let batch = 8, length = 64
        var g = RandomGenerator(seed: 1)
        let base = IndexTensor(shape: [batch, length], values: (0..<(batch * length)).map { _ in g.nextInt(below: 50257) })
        let source = IndexTensor(shape: [batch, length], values: (0..<(batch * length)).map { _ in g.nextInt(below: 50257) })
        let config = IntervenableConfig(RepresentationConfig(layer: 6, component: .blockOutput), interventionType: .vanilla)
        let intervenable = try IntervenableModel(config: config, model: model)
        let locations = UnitLocations.position(10, batchSize: batch)
        let allBlocks = (0..<12).map { Site(layer: $0, component: .blockOutput) }

        // Check the numbers before timing, holding at most one set of full logits at a time (the
        // peak resident set is part of what this workload reports).
        var selfInterchangeDifference: Float = 0
        try Tensor.withoutGradients {
            try checkFiniteLogits(model, base, shape: [batch, length, 50257])
            var lastOnly = ForwardOptions()
            lastOnly.logitsForLastPositionOnly = true
            let plainLast = try model.forward(.tokens(base), options: lastOnly).output
            let same = try intervenable.forward(base: .tokens(base), sources: [.tokens(base)], unitLocations: locations, options: lastOnly).intervened.logits
            // The source pass runs positions 0…10 only (a causal model's prefix), so the patched
            // block equals the base's to float rounding, not bit for bit.
            selfInterchangeDifference = maxAbsDifference(same, plainLast)
            guard selfInterchangeDifference <= 1e-4 else {
                throw BenchmarkFailure(description: "self-interchange changed the logits by \(selfInterchangeDifference)")
            }
            let (output, cache) = try model.runWithCache(.tokens(base), sites: allBlocks, options: ForwardOptions(outputHiddenStates: true))
            guard maxAbsDifference(cache[allBlocks[3]]!, output.hiddenStates[4]) == 0 else {
                throw BenchmarkFailure(description: "cached block output differs from the hidden state")
            }
        }
        let products = try WeightProducts(model, rows: batch * length)
        let times = try Tensor.withoutGradients {
            try timedInterleaved(reps: reps, [
                { _ = try model(.tokens(base)) },
                { _ = try intervenable.forward(base: .tokens(base), sources: [.tokens(source)], unitLocations: locations) },
                { _ = try model.runWithCache(.tokens(base), sites: allBlocks) },
                { products.run() },
            ])
        }
        memory["after_passes"] = rounded(Timing.currentRSSMiB(), 1)
        memory["idle_cache_after_passes"] = rounded(Double(BufferCache.idleBytes) / 1_048_576, 1)
        memory["peak_after_passes"] = rounded(Timing.peakRSSMiB(), 1)
        let plainMs = times[0], intervenedMs = times[1], cacheMs = times[2], productsMs = times[3]
        // Multiply-adds × 2: the weight products, plus QKᵀ and AV over every (example, head).
        let attentionGFLOP = Double(12 * batch * 12 * 2 * 2 * length * length * 64) / 1e9
        let forwardGFLOP = products.gflop + attentionGFLOP
        // KV-cache greedy generation: one prompt of 16 tokens, 64 new tokens.
        let prompt = IndexTensor(shape: [1, 16], values: Array(base.values.prefix(16)))
        let newTokens = 64
        let generationMs = Timing.medianMilliseconds(warmup: 1, reps: Swift.max(3, reps / 3)) {
            _ = try? Generator.generate(model, prompt: prompt, config: GenerationConfig(maxNewTokens: newTokens))
        }
        _ = try Generator.generate(model, prompt: prompt, config: GenerationConfig(maxNewTokens: 4))
        return [
            "workload": "gpt2_forward", "threads": BLAS.threads, "batch": batch, "seq_len": length,
            "plain_ms": rounded(plainMs, 2), "tokens_per_s": rounded(Double(batch * length) / (plainMs / 1000), 1),
            "intervened_ms": rounded(intervenedMs, 2),
            "intervened_processed_tokens_per_s": rounded(Double(2 * batch * length) / (intervenedMs / 1000), 1),
            "intervention_overhead_vs_two_plain_pct": rounded(100 * (intervenedMs / (2 * plainMs) - 1), 2),
            "self_interchange_max_logit_difference": Double(selfInterchangeDifference),
            "run_with_cache_12_block_outputs_ms": rounded(cacheMs, 2),
            "run_with_cache_overhead_pct": rounded(100 * (cacheMs / plainMs - 1), 2),
            "generation_new_tokens": newTokens, "generation_ms": rounded(generationMs, 1),
            "generation_tokens_per_s": rounded(Double(newTokens) / (generationMs / 1000), 1),
            "peak_rss_mib": rounded(Timing.peakRSSMiB(), 1), "memory_mib": memory,
            "forward_gflop": rounded(forwardGFLOP, 2), "plain_gflops": rounded(forwardGFLOP / (plainMs / 1000), 1),
            "weight_products_gflop": rounded(products.gflop, 2), "weight_products_ms": rounded(productsMs, 2),
            "weight_products_gflops": rounded(products.gflop / (productsMs / 1000), 1),
            "weight_products_share_of_plain_pct": rounded(100 * productsMs / plainMs, 1),
            "method": "medians of round-robin rounds (plain, intervened, run-with-cache, the plain pass's 49 weight products alone) after 2 warm-up rounds; no gradients",
        ]
    }

    /// Throws unless a plain forward's logits have `shape` and are all finite.
    static func checkFiniteLogits(_ model: DecoderModel, _ tokens: IndexTensor, shape: [Int]) throws {
        let logits = try model(.tokens(tokens)).logits
        guard logits.shape == shape, logits.withUnsafeElements({ $0.allSatisfy(\.isFinite) }) else {
            throw BenchmarkFailure(description: "gpt2 logits are not finite or not of shape \(shape)")
        }
    }

    /// max |a − b| over two tensors of one shape, without temporaries (∞ for other shapes).
    static func maxAbsDifference(_ a: Tensor, _ b: Tensor) -> Float {
        guard a.shape == b.shape else { return .infinity }
        return a.withUnsafeElements { x in
            b.withUnsafeElements { y in
                var worst: Float = 0
                for i in x.indices { worst = Swift.max(worst, Swift.abs(x[i] - y[i])) }
                return worst
            }
        }
    }

    static func timedInterleaved(reps: Int, _ variants: [() throws -> Void]) throws -> [Double] {
        var failure: Error?
        let wrapped = variants.map { v in { do { try v() } catch { failure = error } } }
        let result = Timing.interleavedMedians(warmup: 2, reps: reps, wrapped)
        if let failure { throw failure }
        return result
    }
}

/// The plain pass's matrix products by the model's weights, alone: per layer x·W_qkv, x·W_o,
/// x·W_up (x: rows × 768) and h·W_down (h: rows × 3072), then x·W_Eᵀ for the logits — the
/// forward's shapes and weights through the same sgemm (its layers also add their bias, as β = 1 on
/// a bias-filled output), with nothing between them.
struct WeightProducts {
    let narrow: Tensor, wide: Tensor
    let layers: [(qkv: Tensor, output: Tensor, up: Tensor, down: Tensor)]
    let unembeddingT: Tensor
    let gflop: Double

    init(_ model: DecoderModel, rows: Int) throws {
        let parameters = model.parameterDictionary
        func weight(_ name: String) throws -> Tensor {
            guard let p = parameters[name] else { throw BenchmarkFailure(description: "no parameter \(name)") }
            return p.value
        }
        layers = try (0..<model.config.layers).map { l in
            let prefix = "transformer.h.\(l)."
            return (try weight(prefix + "attn.c_attn.weight"), try weight(prefix + "attn.c_proj.weight"),
                    try weight(prefix + "mlp.c_fc.weight"), try weight(prefix + "mlp.c_proj.weight"))
        }
        unembeddingT = try weight("transformer.wte.weight").transposed()
        narrow = Tensor.randomNormal([rows, model.config.width], seed: 5)
        wide = Tensor.randomNormal([rows, layers[0].up.shape[1]], seed: 6)
        let perRow = layers.reduce(0) { $0 + $1.qkv.count + $1.output.count + $1.up.count + $1.down.count } + unembeddingT.count
        gflop = 2 * Double(rows) * Double(perRow) / 1e9
    }

    func run() {
        for layer in layers {
            _ = narrow.matmul(layer.qkv)
            _ = narrow.matmul(layer.output)
            _ = narrow.matmul(layer.up)
            _ = wide.matmul(layer.down)
        }
        _ = narrow.matmul(unembeddingT)
    }
}
