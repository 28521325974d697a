import Testing
import Foundation
@testable import Tensors

/// Values of kernels against double-precision references.
@Suite struct ValueTests {
    @Test func transcendentalKernelsAreAccurate() {
        let xs = (0..<4001).map { Float($0 - 2000) / 200 }
        let x = Tensor(xs)
        func worst(_ t: Tensor, _ f: (Double) -> Double) -> Double {
            zip(t.scalars, xs).map { abs(Double($0) - f(Double($1))) / max(1, abs(f(Double($1)))) }.max()!
        }
        #expect(worst(x.exp(), { Foundation.exp($0) }) < 3e-7)
        #expect(worst(x.tanh(), { Foundation.tanh($0) }) < 3e-7)
        #expect(worst(x.sigmoid(), { 1 / (1 + Foundation.exp(-$0)) }) < 3e-7)
        #expect(worst(x.gelu(.exact), { 0.5 * $0 * (1 + erf($0 / 2.0.squareRoot())) }) < 5e-7)
        #expect(worst(x.gelu(.tanh), { 0.5 * $0 * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * ($0 + 0.044715 * $0 * $0 * $0))) }) < 5e-7)
        #expect(worst(x.silu(), { $0 / (1 + Foundation.exp(-$0)) }) < 5e-7)
        // Tiny arguments keep relative accuracy.
        let tiny = Tensor([1e-6, -3e-5, 1e-3])
        #expect(zip(tiny.tanh().scalars, [1e-6, -3e-5, 1e-3]).allSatisfy { abs(Double($0) - Foundation.tanh($1)) / abs($1) < 1e-6 })
    }

    @Test func softmaxIsStableAndMasksExactly() {
        let x = Tensor(shape: [2, 3], values: [1000, 1001, 1002, -.infinity, 0, -.infinity])
        let s = x.softmax().scalars
        #expect(abs(s[0] + s[1] + s[2] - 1) < 1e-6)
        #expect(s[3] == 0 && s[5] == 0 && s[4] == 1)
        let ls = Tensor([1, 2, 3]).logSoftmax().scalars
        let ref = [1.0, 2, 3].map { $0 - Foundation.log(Foundation.exp(1.0) + Foundation.exp(2) + Foundation.exp(3)) }
        #expect(zip(ls, ref).allSatisfy { abs(Double($0) - $1) < 1e-6 })
    }

    @Test func normalisations() {
        let x = Tensor(shape: [1, 4], values: [1, 2, 3, 4])
        let ln = x.layerNorm(weight: nil, bias: nil, epsilon: 0).scalars
        let sd = (1.25 as Float).squareRoot()
        #expect(zip(ln, [-1.5, -0.5, 0.5, 1.5].map { $0 / sd }).allSatisfy { abs($0 - $1) < 1e-6 })
        let rms = x.rmsNorm(weight: Tensor([1, 1, 1, 2]), epsilon: 0).scalars
        let r = (7.5 as Float).squareRoot()
        #expect(zip(rms, [1 / r, 2 / r, 3 / r, 8 / r]).allSatisfy { abs($0 - $1) < 1e-6 })
    }

    @Test func groupedAttentionMatchesRepeatedHeads() {
        let q = random([2, 3, 8], seed: 1), k = random([2, 3, 4], seed: 2), v = random([2, 3, 4], seed: 3)
        let p = Attention.probabilities(query: q, key: k, heads: 4, kvHeads: 2, scale: 0.5, mask: AttentionMask(causal: true))
        let grouped = Attention.context(probabilities: p, value: v, kvHeads: 2)
        // Repeat each kv head twice and run ordinary multi-head attention.
        func repeatHeads(_ t: Tensor) -> Tensor {
            let heads = t.split(sizes: [2, 2], axis: 2)
            return Tensor.concatenate([heads[0], heads[0], heads[1], heads[1]], axis: 2)
        }
        let p2 = Attention.probabilities(query: q, key: repeatHeads(k), heads: 4, kvHeads: 4, scale: 0.5, mask: AttentionMask(causal: true))
        let plain = Attention.context(probabilities: p2, value: repeatHeads(v), kvHeads: 4)
        expectClose(grouped, plain, atol: 1e-6)
        // And the first head against a hand computation.
        let qh = q.narrowed(0, start: 0, length: 1).narrowed(2, start: 0, length: 2).reshaped([3, 2])
        let kh = k.narrowed(0, start: 0, length: 1).narrowed(2, start: 0, length: 2).reshaped([3, 2])
        let vh = v.narrowed(0, start: 0, length: 1).narrowed(2, start: 0, length: 2).reshaped([3, 2])
        var scores = qh.matmul(kh.transposed()) * 0.5
        scores = scores.maskedFill(Tensor(shape: [3, 3], values: [0, 1, 1, 0, 0, 1, 0, 0, 0]), value: -.infinity)
        let ref = scores.softmax().matmul(vh)
        expectClose(grouped.narrowed(0, start: 0, length: 1).narrowed(2, start: 0, length: 2).reshaped([3, 2]), ref, atol: 1e-6)
    }

    @Test func rotaryRotatesPairsByPositionAngle() {
        // One head of dim 4, full rotary, base 10000: pairs (0,2) at angle p, (1,3) at p/100.
        let x = Tensor(shape: [1, 1, 4], values: [1, 0, 0, 1])
        let r = RotaryEmbedding(rotaryDim: 4, headDim: 4, base: 10000).apply(x, positions: [[2]]).scalars
        let a = 2.0, b = 2.0 / 100
        let expected = [Foundation.cos(a), -Foundation.sin(b), Foundation.sin(a), Foundation.cos(b)]
        #expect(zip(r, expected).allSatisfy { abs(Double($0) - $1) < 1e-6 })
    }

    @Test func crossEntropyMatchesDefinition() {
        let logits = Tensor(shape: [2, 3], values: [1, 2, 3, 1, 1, 1])
        let loss = Tensor.crossEntropy(logits: logits, targets: [2, 0]).item
        let l0 = -Foundation.log(Foundation.exp(3.0) / (Foundation.exp(1.0) + Foundation.exp(2.0) + Foundation.exp(3.0)))
        let l1 = Foundation.log(3.0)
        #expect(abs(Double(loss) - (l0 + l1) / 2) < 1e-6)
        #expect(Tensor.crossEntropy(logits: logits, targets: [-100, 0]).item == Float(l1))
    }
}
