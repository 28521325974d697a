import Foundation
import Tensors

/// `sae_gemms`: the five dense products of one step of a dense-matmul SAE — encoder and decoder
/// forward, dW_enc = xᵀ·∂pre, ∂z = ∂x̂·W_decᵀ, dW_dec = zᵀ·∂x̂ — each 2·B·d·L FLOPs, through the
/// Tensor matmuls (cblas_sgemm). B / total time is the sgemm-bound training throughput to set
/// beside `intervene sae train`'s `sae_tokens_per_second`. Shape from SAE_SHAPE=B,d,L (default
/// 4096,576,4608: SmolLM2's width with 8× latents).
enum SAEGemmBenchmark {
    static func run(reps: Int) throws -> [String: Any] {
        let shape = (ProcessInfo.processInfo.environment["SAE_SHAPE"] ?? "4096,576,4608").split(separator: ",").compactMap { Int($0) }
        guard shape.count == 3, shape.allSatisfy({ $0 > 0 }) else { throw BenchmarkFailure(description: "SAE_SHAPE must be B,d,L (positive integers)") }
        let (b, d, l) = (shape[0], shape[1], shape[2])
        let x = Tensor.randomNormal([b, d], seed: 1), wEnc = Tensor.randomNormal([d, l], seed: 2)
        let z = Tensor.randomNormal([b, l], seed: 3), wDec = Tensor.randomNormal([l, d], seed: 4), g = Tensor.randomNormal([b, d], seed: 5)
        let products: [(String, () -> Void)] = [
            ("encoder", { _ = x.matmul(wEnc) }), ("decoder", { _ = z.matmul(wDec) }),
            ("grad_encoder_weight", { _ = x.transposed().matmul(z) }), ("grad_latents", { _ = g.matmul(wDec.transposed()) }),
            ("grad_decoder_weight", { _ = z.transposed().matmul(g) }),
        ]
        let times = Timing.interleavedMedians(warmup: 1, reps: reps, products.map(\.1))
        let flops = 2.0 * Double(b) * Double(d) * Double(l), total = times.reduce(0, +)
        var result: [String: Any] = ["workload": "sae_gemms", "batch": b, "width": d, "latents": l, "reps": reps,
                                     "step_gflop": 5 * flops / 1e9, "step_ms": total, "gflops": 5 * flops / (total / 1000) / 1e9,
                                     "sgemm_bound_tokens_per_second": Double(b) / (total / 1000)]
        for ((name, _), ms) in zip(products, times) { result[name + "_ms"] = ms }
        return result
    }
}
