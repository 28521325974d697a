import CBLAS
import Features
import Foundation
import Models
import Tensors

/// The `codebook_train` workload: training steps of tutorial 07's full TokFSM model (GPT-NeoX,
/// width 128, 4 layers, 4 heads, MLP 512, vocabulary 11; batch 32 × 64 tokens) with and without
/// codebooks (1000 codes, k = 1, one per head at attn_preproj and one at each MLP output), next
/// to the sgemm-bound estimate of the same step: the time cblas_sgemm alone takes for every
/// matrix product the step performs (forward, and both backward products of each trained one),
/// each shape timed in this run.
enum CodebookTrainingBenchmark {
    /// One matrix product shape C (m, n) = A (m, k) · B (k, n), performed `count` times per step.
    struct Product {
        let m: Int, k: Int, n: Int, count: Int
        var flops: Double { 2 * Double(m) * Double(k) * Double(n) * Double(count) }
    }

    static let width = 128, layers = 4, heads = 4, intermediate = 512, vocabulary = 11, codes = 1000
    static let batch = 32, statesPerSequence = 32

    /// The products of one training step. A trained product X·W contributes its forward and the
    /// two backward products dX = dY·Wᵀ and dW = Xᵀ·dY; the codebook scores (N, D)·(D, C) are
    /// forward only (the selection is not differentiated; the straight-through gradient and the
    /// MSE's gradient need no product).
    static func products(codebooks: Bool) -> [Product] {
        let tokens = batch * 2 * statesPerSequence, headWidth = width / heads, t = 2 * statesPerSequence
        func trained(_ m: Int, _ k: Int, _ n: Int, _ count: Int) -> [Product] {
            [Product(m: m, k: k, n: n, count: count), Product(m: m, k: n, n: k, count: count), Product(m: k, k: m, n: n, count: count)]
        }
        var list: [Product] = []
        list += trained(tokens, width, 3 * width, layers)            // query, key, value
        list += trained(tokens, width, width, layers)                // attention output projection
        list += trained(tokens, width, intermediate, layers)         // MLP up
        list += trained(tokens, intermediate, width, layers)         // MLP down
        list += trained(tokens, width, vocabulary, 1)                // unembedding
        list += trained(t, headWidth, t, layers * batch * heads)     // scores Q·Kᵀ per head
        list += trained(t, t, headWidth, layers * batch * heads)     // attention · V per head
        if codebooks {
            list.append(Product(m: tokens, k: headWidth, n: codes, count: layers * heads))  // per-head codebooks
            list.append(Product(m: tokens, k: width, n: codes, count: layers))              // MLP codebooks
        }
        return list
    }

    /// Milliseconds cblas_sgemm takes for one product of each distinct shape (best of `reps`
    /// rounds), summed over the step's products.
    static func sgemmBoundMilliseconds(_ products: [Product], reps: Int) -> (total: Double, perShape: [String: Double]) {
        var cache: [String: Double] = [:]
        var total = 0.0
        for p in products {
            let key = "\(p.m)x\(p.k)x\(p.n)"
            if cache[key] == nil {
                let a = Tensor.randomNormal([p.m, p.k], seed: 1), b = Tensor.randomNormal([p.k, p.n], seed: 2)
                var c = [Float](repeating: 0, count: p.m * p.n)
                let ap = a.storage.pointer, bp = b.storage.pointer
                let inner = max(1, 50_000_000 / max(1, p.m * p.k * p.n))
                let ms = Timing.interleavedMedians(warmup: 2, reps: reps, best: true, [{
                    c.withUnsafeMutableBufferPointer { cp in
                        for _ in 0..<inner {
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(p.m), Int32(p.n), Int32(p.k), 1, ap, Int32(p.k),
                                        bp, Int32(p.n), 0, cp.baseAddress, Int32(p.n))
                        }
                    }
                }])[0] / Double(inner)
                cache[key] = ms
            }
            total += cache[key]! * Double(p.count)
        }
        return (total, cache)
    }

    static func run(reps: Int) throws -> [String: Any] {
        let fsm = try TokFSM(states: 100, edges: 10, base: 10, seed: 42)
        var rows: [[String: Any]] = []
        for withCodebooks in [false, true] {
            let model = try CodebookTraining.gptNeoX(for: fsm, width: width, layers: layers, heads: heads, intermediate: intermediate,
                                                     contextLength: 1 + 2 * statesPerSequence, seed: 7)
            let codebookModel = withCodebooks ? try CodebookModel(model: model, specs: [
                CodebookSpec(placement: .attentionPreprojection, codeCount: codes, groups: -1),
                CodebookSpec(placement: .mlp, codeCount: codes),
            ], seed: 3) : nil
            let steps = max(2, reps)
            let options = TokFSMTrainingOptions(steps: steps, batchSize: batch, statesPerSequence: statesPerSequence, learningRate: 3e-3)
            _ = try CodebookTraining.fit(model, codebooks: codebookModel, on: fsm, options: TokFSMTrainingOptions(steps: 2, batchSize: batch,
                                         statesPerSequence: statesPerSequence))
            let report = try CodebookTraining.fit(model, codebooks: codebookModel, on: fsm, options: options)
            guard report.finalLoss.isFinite else { throw BenchmarkFailure(description: "loss not finite") }
            let products = products(codebooks: withCodebooks)
            let flops = products.reduce(0) { $0 + $1.flops }
            let stepMs = report.seconds * 1000 / Double(steps)
            let (boundMs, perShape) = sgemmBoundMilliseconds(products, reps: reps)
            let tokens = Double(batch * 2 * statesPerSequence)
            rows.append(["codebooks": withCodebooks, "step_ms": rounded(stepMs, 2), "tokens_per_s": rounded(tokens / (stepMs / 1000), 0),
                         "sgemm_bound_step_ms": rounded(boundMs, 2), "sgemm_bound_tokens_per_s": rounded(tokens / (boundMs / 1000), 0),
                         "fraction_of_sgemm_bound": rounded(boundMs / stepMs, 3), "matmul_gflop_per_step": rounded(flops / 1e9, 3),
                         "achieved_gflops": rounded(flops / 1e9 / (stepMs / 1000), 2), "sgemm_gflops": rounded(flops / 1e9 / (boundMs / 1000), 2),
                         "sgemm_ms_per_call": perShape.mapValues { rounded($0, 4) }])
        }
        return ["workload": "codebook_train", "threads": BLAS.threads, "batch": batch, "seq_len": 2 * statesPerSequence,
                "model": "gpt_neox width 128, 4 layers, 4 heads, MLP 512, vocab 11", "codes": codes, "runs": rows,
                "peak_rss_mib": rounded(Timing.peakRSSMiB(), 1)]
    }
}
