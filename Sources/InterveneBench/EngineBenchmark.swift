import CBLAS
import Foundation
import Tensors

/// The `engine` workload: kernels of the Tensors module against the direct cblas call or the
/// numpy expression they are judged by, measured in the same run.
enum EngineBenchmark {
    struct Row {
        let name: String
        let ms: Double
        let referenceMs: Double
        let reference: String

        var json: [String: Any] {
            ["name": name, "ms": rounded(ms, 4), "reference_ms": rounded(referenceMs, 4),
             "ratio": rounded(referenceMs / ms, 3), "reference": reference]
        }
    }

    static func run(reps: Int) throws -> [String: Any] {
        var rows: [Row] = []
        // Matrix products: Tensor API (allocating its output) against cblas on preallocated memory.
        for (m, k, n) in [(512, 768, 3072), (512, 3072, 768), (512, 768, 768), (64, 64, 64), (1, 768, 3072)] {
            let a = Tensor.randomNormal([m, k], seed: 1), b = Tensor.randomNormal([k, n], seed: 2)
            var c = [Float](repeating: 0, count: m * n)
            let ap = a.storage.pointer, bp = b.storage.pointer
            let direct = {
                c.withUnsafeMutableBufferPointer { cp in
                    if m == 1 {
                        cblas_sgemv(CblasRowMajor, CblasTrans, Int32(k), Int32(n), 1, bp, Int32(n), ap, 1, 0, cp.baseAddress, 1)
                    } else {
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1, ap, Int32(k),
                                    bp, Int32(n), 0, cp.baseAddress, Int32(n))
                    }
                }
            }
            direct()
            let check = a.matmul(b).scalars
            let worst = zip(check, c).map { abs($0 - $1) }.max() ?? 0
            guard worst < 1e-3 else { throw BenchmarkFailure(description: "matmul \(m)x\(k)x\(n) disagrees with cblas by \(worst)") }
            let innerReps = m * n * k < 1_000_000 ? 200 : 1
            // Kernel micro-benchmarks report the best round of each: the least disturbed by other
            // work on a shared machine.
            let times = Timing.interleavedMedians(warmup: 3, reps: reps, best: true, [
                { for _ in 0..<innerReps { _ = a.matmul(b) } },
                { for _ in 0..<innerReps { direct() } },
            ])
            rows.append(Row(name: "matmul_\(m)x\(k)x\(n)", ms: times[0] / Double(innerReps), referenceMs: times[1] / Double(innerReps),
                            reference: m == 1 ? "cblas_sgemv on the same data" : "cblas_sgemm on the same data"))
        }
        rows += try elementwiseAgainstNumpy(reps: reps)
        rows.append(try mlpBlock(reps: reps))
        return ["workload": "engine", "threads": BLAS.threads, "kernels": rows.map(\.json),
                "ratio_meaning": "reference_ms / ms: above 1 means faster than the reference",
                "method": "matmuls: best of interleaved rounds (200 calls per round below 1 MFLOP); elementwise and MLP block: medians",
                "peak_rss_mib": rounded(Timing.peakRSSMiB(), 1)]
    }

    /// GELU (tanh form), broadcasting add and row softmax over 10 M elements against numpy.
    static func elementwiseAgainstNumpy(reps: Int) throws -> [Row] {
        let numpy = try NumpyReference.measure(reps: reps)
        let x = Tensor.randomNormal([10_000_000], seed: 3)
        let geluRef = x.scalars.prefix(1000).map { v -> Float in
            let d = Double(v)
            return Float(0.5 * d * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * (d + 0.044715 * d * d * d))))
        }
        let gelu = x.gelu(.tanh).scalars.prefix(1000)
        guard zip(gelu, geluRef).allSatisfy({ abs($0 - $1) < 1e-5 }) else { throw BenchmarkFailure(description: "gelu disagrees with its formula") }
        let matrix = Tensor.randomNormal([13_021, 768], seed: 4), bias = Tensor.randomNormal([768], seed: 5)
        let logits = Tensor.randomNormal([199, 50_257], seed: 6)
        let rowSum = logits.softmax().sum(axis: 1).scalars
        guard rowSum.allSatisfy({ abs($0 - 1) < 1e-4 }) else { throw BenchmarkFailure(description: "softmax rows do not sum to 1") }
        let geluMs = Timing.medianMilliseconds(warmup: 2, reps: reps) { _ = x.gelu(.tanh) }
        let addMs = Timing.medianMilliseconds(warmup: 2, reps: reps) { _ = matrix + bias }
        let softmaxMs = Timing.medianMilliseconds(warmup: 2, reps: reps) { _ = logits.softmax() }
        return [
            Row(name: "gelu_tanh_10M", ms: geluMs, referenceMs: numpy["gelu"]!, reference: "numpy 0.5*x*(1+tanh(sqrt(2/pi)*(x+0.044715*(x*x*x)))) (x*x*x: numpy's x**3 is 40x slower here)"),
            Row(name: "broadcast_add_13021x768_plus_768", ms: addMs, referenceMs: numpy["add"]!, reference: "numpy x + b"),
            Row(name: "softmax_rows_199x50257", ms: softmaxMs, referenceMs: numpy["softmax"]!,
                reference: "numpy e = exp(x - x.max(1, keepdims)); e / e.sum(1, keepdims)"),
        ]
    }

    /// GPT-2-small MLP block (768 → 3072 → 768, 512 tokens, frozen weights): forward and backward
    /// to the input, against the four sgemm calls it needs.
    static func mlpBlock(reps: Int) throws -> Row {
        let t = 512, d = 768, h = 3072
        let w1 = Tensor.randomNormal([d, h], std: 0.02, seed: 7), b1 = Tensor.randomNormal([h], std: 0.02, seed: 8)
        let w2 = Tensor.randomNormal([h, d], std: 0.02, seed: 9), b2 = Tensor.randomNormal([d], std: 0.02, seed: 10)
        var x = Tensor.randomNormal([t, d], seed: 11)
        x.requiresGrad = true
        let seed = Tensor.randomNormal([t, d], seed: 12)
        func step() -> Tensor {
            x.zeroGrad()
            let y = x.linear(weight: w1, bias: b1, layout: .inputMajor).gelu(.tanh).linear(weight: w2, bias: b2, layout: .inputMajor)
            y.backward(seed: seed)
            return x.grad!
        }
        let grad = step()
        guard grad.scalars.allSatisfy({ $0.isFinite }) else { throw BenchmarkFailure(description: "MLP gradient not finite") }
        // The four products: x·W1, a·W2, G·W2ᵀ, dA·W1ᵀ, into preallocated buffers.
        var hidden = [Float](repeating: 0, count: t * h), out = [Float](repeating: 0, count: t * d)
        var dHidden = [Float](repeating: 0, count: t * h), dx = [Float](repeating: 0, count: t * d)
        let xp = x.storage.pointer, w1p = w1.storage.pointer, w2p = w2.storage.pointer, gp = seed.storage.pointer
        let sgemms = {
            hidden.withUnsafeMutableBufferPointer { hp in
                out.withUnsafeMutableBufferPointer { op in
                    dHidden.withUnsafeMutableBufferPointer { dhp in
                        dx.withUnsafeMutableBufferPointer { dxp in
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(t), Int32(h), Int32(d), 1, xp, Int32(d), w1p, Int32(h), 0, hp.baseAddress, Int32(h))
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(t), Int32(d), Int32(h), 1, hp.baseAddress, Int32(h), w2p, Int32(d), 0, op.baseAddress, Int32(d))
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(t), Int32(h), Int32(d), 1, gp, Int32(d), w2p, Int32(d), 0, dhp.baseAddress, Int32(h))
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(t), Int32(d), Int32(h), 1, dhp.baseAddress, Int32(h), w1p, Int32(h), 0, dxp.baseAddress, Int32(d))
                        }
                    }
                }
            }
        }
        let times = Timing.interleavedMedians(warmup: 2, reps: reps, [{ _ = step() }, sgemms])
        return Row(name: "gpt2_mlp_block_forward_backward_512x768x3072", ms: times[0], referenceMs: times[1],
                   reference: "the 4 cblas_sgemm calls it needs (x·W1, a·W2, G·W2ᵀ, dA·W1ᵀ); budget ratio ≥ 1/1.3 = 0.77")
    }
}

/// Runs the numpy expressions the elementwise kernels are judged against, in a child process.
enum NumpyReference {
    static let script = """
    import json, time, numpy as np
    reps = int(__import__('sys').argv[1])
    rng = np.random.default_rng(0)
    x = rng.standard_normal(10_000_000, dtype=np.float32)
    m = rng.standard_normal((13021, 768), dtype=np.float32); b = rng.standard_normal(768, dtype=np.float32)
    s = rng.standard_normal((199, 50257), dtype=np.float32)
    k = np.float32(np.sqrt(2 / np.pi)); c = np.float32(0.044715); h = np.float32(0.5)
    def gelu(): return h * x * (1 + np.tanh(k * (x + c * (x * x * x))))
    def add(): return m + b
    def softmax():
        e = np.exp(s - s.max(axis=1, keepdims=True)); return e / e.sum(axis=1, keepdims=True)
    out = {}
    for name, f in [('gelu', gelu), ('add', add), ('softmax', softmax)]:
        f(); f()
        ts = []
        for _ in range(reps):
            t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)
        ts.sort(); out[name] = 1000 * ts[len(ts) // 2]
    print(json.dumps(out))
    """

    static func measure(reps: Int) throws -> [String: Double] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, String(reps)]
        let pipe = Pipe()
        process.standardOutput = pipe
        do { try process.run() } catch { throw BenchmarkFailure(description: "cannot run python3 for the numpy reference: \(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Double] else {
            throw BenchmarkFailure(description: "the numpy reference failed (is numpy installed for python3?)")
        }
        return object
    }
}
