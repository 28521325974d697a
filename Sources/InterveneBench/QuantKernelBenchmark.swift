import Foundation
import Tensors

/// `quant_kernels`: y = x Wᵀ for W = blk.0.ffn_up.weight of the SmolLM2 GGUF (GGUF_FILE; Q4_1,
/// 1536 × 576) and token_embd.weight (Q8_0, 49152 × 576, the tied head) with 1 to 32 input rows:
/// the fused decode-and-multiply kernel, dequantized tiles + sgemm, and sgemm on the Float32
/// matrix. Chooses `QuantizedProduct.fusedRowLimit` (the largest row count where fused wins).
enum QuantKernelBenchmark {
    static func run(reps: Int) throws -> [String: Any] {
        guard let path = ProcessInfo.processInfo.environment["GGUF_FILE"], FileManager.default.fileExists(atPath: path) else {
            throw BenchmarkFailure(description: "set GGUF_FILE to the SmolLM2 GGUF file")
        }
        let file = try GGUFFile(path: path)
        var results: [[String: Any]] = []
        for name in ["blk.0.ffn_up.weight", "token_embd.weight"] {
            let q = try QuantizedMatrix(file.rawTensor(name))
            let w = q.dequantized()
            for rows in [1, 2, 4, 8, 16, 32] {
                let x = Tensor.randomNormal([rows, q.columns], seed: 1)
                let y = Tensor(uninitializedShape: [rows, q.rows])
                let times = x.withUnsafeElements { xs in
                    Timing.interleavedMedians(reps: reps, [
                        { QuantizedProduct.fused(xs.baseAddress!, rows: rows, q, bias: nil, into: y.storage.pointer) },
                        { QuantizedProduct.tiled(xs.baseAddress!, rows: rows, q, bias: nil, into: y.storage.pointer) },
                        { _ = x.linear(weight: w) },
                    ])
                }
                results.append(["tensor": name, "type": q.type.name, "shape": q.shape, "rows": rows, "fused_ms": rounded(times[0], 4),
                                "tiled_ms": rounded(times[1], 4), "float32_sgemm_ms": rounded(times[2], 4)])
            }
        }
        return ["workload": "quant_kernels", "threads": Parallel.workers, "results": results, "n": reps]
    }
}
