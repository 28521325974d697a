import Testing
@testable import Tensors

/// Finite-difference checks of every differentiable operation.
@Suite struct GradientCheckTests {
    @Test func unaryFunctions() {
        let x = random([3, 4], seed: 1)
        let positive = x.abs() + 0.5
        checkGradients([x]) { $0[0].exp() }
        checkGradients([positive]) { $0[0].log() }
        checkGradients([positive]) { $0[0].sqrt() }
        checkGradients([positive]) { $0[0].rsqrt() }
        checkGradients([positive]) { $0[0].reciprocal() }
        checkGradients([positive]) { $0[0].pow(1.5) }
        checkGradients([x]) { $0[0].tanh() }
        checkGradients([x]) { $0[0].sigmoid() }
        checkGradients([x], eps: 1e-3, atol: 3e-3) { $0[0].relu() }
        checkGradients([x], eps: 1e-3, atol: 3e-3) { $0[0].abs() }
        checkGradients([x]) { $0[0].square() }
        checkGradients([x]) { $0[0].silu() }
        checkGradients([x]) { $0[0].gelu(.exact) }
        checkGradients([x]) { $0[0].gelu(.tanh) }
        checkGradients([x]) { -$0[0] }
        checkGradients([x]) { $0[0] * 3 + 1 }
        checkGradients([x], eps: 1e-3, atol: 3e-3) { $0[0].clamped(min: -0.5, max: 0.5) }
    }

    @Test func binaryWithBroadcasting() {
        let a = random([2, 3, 4], seed: 1), b = random([3, 1], seed: 2), c = random([4], seed: 3).abs() + 1
        checkGradients([a, b]) { $0[0] + $0[1] }
        checkGradients([a, b]) { $0[0] - $0[1] }
        checkGradients([a, b]) { $0[0] * $0[1] }
        checkGradients([a, c]) { $0[0] / $0[1] }
        checkGradients([a, b], eps: 1e-3, atol: 3e-3) { Tensor.maximum($0[0], $0[1]) }
        checkGradients([a, c]) { Tensor.where(Tensor([1, 0, 1, 0]), $0[0], $0[1]) }
        // Broadcast operands: (2, 1) chosen against (1, 4) under a (2, 4) condition.
        let column = random([2, 1], seed: 41), row = random([1, 4], seed: 42)
        checkGradients([column, row]) { Tensor.where(Tensor(shape: [2, 4], values: [1, 0, 1, 0, 0, 0, 1, 1]), $0[0], $0[1]) }
    }

    @Test func reductions() {
        let a = random([2, 3, 4], seed: 1)
        checkGradients([a]) { $0[0].sum() }
        checkGradients([a]) { $0[0].sum(axes: [0, 2]) }
        checkGradients([a]) { $0[0].mean(axis: 1, keepDims: true) }
        checkGradients([a]) { $0[0].mean() }
        checkGradients([a], eps: 1e-3, atol: 3e-3) { $0[0].max(axis: 2) }
        checkGradients([a], eps: 1e-3, atol: 3e-3) { $0[0].max(axis: 1, keepDims: true) }
    }

    @Test func shapeOperations() {
        let a = random([2, 3, 4], seed: 1), b = random([2, 2, 4], seed: 2)
        checkGradients([a]) { $0[0].reshaped([4, 6]) }
        checkGradients([a]) { $0[0].permuted([2, 0, 1]).contiguous() }
        checkGradients([a]) { $0[0].transposed(0, 2) * Tensor.arange(2) }
        checkGradients([a]) { $0[0].narrowed(1, start: 1, length: 2) }
        checkGradients([a, b]) { Tensor.concatenate([$0[0], $0[1]], axis: 1) }
        checkGradients([a, a]) { Tensor.stack([$0[0], $0[1]], axis: 1) }
        checkGradients([a]) { $0[0].split(sizes: [1, 3], axis: 2)[1] }
        checkGradients([random([3, 1], seed: 3)]) { $0[0].broadcast(to: [2, 3, 4]) }
        checkGradients([a]) { $0[0].unsqueezed(1).squeezed(1) }
    }

    @Test func matrixProducts() {
        let a = random([3, 4], seed: 1), b = random([4, 5], seed: 2)
        checkGradients([a, b]) { $0[0].matmul($0[1]) }
        checkGradients([a, b]) { $0[1].transposed().matmul($0[0].transposed()) }
        checkGradients([random([2, 3, 4], seed: 3), b]) { $0[0].matmul($0[1]) }
        checkGradients([random([2, 3, 4], seed: 3), random([2, 4, 2], seed: 4)]) { $0[0].matmul($0[1]) }
        checkGradients([random([1, 4], seed: 5), b]) { $0[0].matmul($0[1]) }
        checkGradients([a, random([4], seed: 6)]) { $0[0].matmul($0[1]) }
        checkGradients([random([4], seed: 11), b]) { $0[0].matmul($0[1]) }                               // 1-D left
        checkGradients([random([2, 3, 4, 5], seed: 12), random([3, 5, 2], seed: 13)]) { $0[0].matmul($0[1]) }  // batch broadcast
        checkGradients([random([3, 4, 5], seed: 14), random([2, 1, 5, 2], seed: 15)]) { $0[0].matmul($0[1]) }
        let w = random([5, 4], seed: 7), bias = random([5], seed: 8)
        checkGradients([random([2, 3, 4], seed: 9), w, bias]) { $0[0].linear(weight: $0[1], bias: $0[2]) }
        checkGradients([random([2, 4], seed: 10), b, bias]) { $0[0].linear(weight: $0[1], bias: $0[2], layout: .inputMajor) }
        checkGradients([random([2, 3, 4], seed: 16), w]) { $0[0].linear(weight: $0[1]) }  // no bias
    }

    @Test func normalisationAndSoftmax() {
        let x = random([3, 6], seed: 1), w = random([6], seed: 2), b = random([6], seed: 3)
        checkGradients([x]) { $0[0].softmax() }
        checkGradients([x]) { $0[0].logSoftmax() }
        checkGradients([x, w, b]) { $0[0].layerNorm(weight: $0[1], bias: $0[2], epsilon: 1e-5) }
        checkGradients([x]) { $0[0].layerNorm(weight: nil, bias: nil, epsilon: 1e-5) }
        checkGradients([x, w]) { $0[0].rmsNorm(weight: $0[1], epsilon: 1e-6) }
        checkGradients([x]) { $0[0].rmsNorm(weight: nil, epsilon: 1e-6) }
        checkGradients([x, w]) { $0[0].layerNorm(weight: $0[1], bias: nil, epsilon: 1e-5) }
        checkGradients([x, b]) { $0[0].layerNorm(weight: nil, bias: $0[1], epsilon: 1e-5) }
    }

    @Test func indexingOperations() {
        let table = random([5, 3], seed: 1)
        checkGradients([table]) { Tensor.embedding($0[0], ids: IndexTensor(shape: [2, 2], values: [4, 0, 4, 2])) }
        checkGradients([table]) { $0[0].indexSelect(axis: 0, indices: [3, 3, 1]) }
        checkGradients([table]) { $0[0].gather(axis: 1, index: IndexTensor(shape: [5, 2], values: [0, 2, 1, 1, 2, 0, 0, 0, 1, 2])) }
        let source = random([2, 3], seed: 2)
        checkGradients([table, source]) {
            $0[0].scatter(axis: 0, index: IndexTensor(shape: [2, 3], values: [1, 4, 0, 3, 2, 2]), source: $0[1])
        }
        let x = random([2, 5, 3], seed: 3)
        checkGradients([x]) { $0[0].gatherPerExample(axis: 1, indices: [[4, 1], [0, 0]]) }
        checkGradients([x, random([2, 2, 3], seed: 4)]) {
            $0[0].scatteringPerExample(axis: 1, indices: [[4, 1], [0, 2]], values: $0[1])
        }
        checkGradients([x]) { $0[0].maskedFill(Tensor([0, 1, 0]), value: 7) }
    }

    @Test(arguments: [(4, 4, true), (4, 2, true), (4, 1, false)])
    func attention(heads: Int, kvHeads: Int, causal: Bool) {
        let hd = 3, batch = 2, sq = 4
        let q = random([batch, sq, heads * hd], seed: 1), k = random([batch, sq, kvHeads * hd], seed: 2)
        let v = random([batch, sq, kvHeads * hd], seed: 3)
        let mask = AttentionMask(causal: causal, keyPadding: causal ? nil : [[true, true, true, false], [true, true, true, true]])
        checkGradients([q, k, v]) { t in
            let p = Attention.probabilities(query: t[0], key: t[1], heads: heads, kvHeads: kvHeads, scale: 0.5, mask: mask)
            return Attention.context(probabilities: p, value: t[2], kvHeads: kvHeads)
        }
    }

    @Test func attentionProbabilitiesAlone() {
        let q = random([2, 3, 4], seed: 5), k = random([2, 3, 2], seed: 6)
        checkGradients([q, k]) { t in
            Attention.probabilities(query: t[0], key: t[1], heads: 2, kvHeads: 1, scale: 0.8, mask: AttentionMask(causal: true))
        }
    }

    /// Soft-capped scores (Gemma 2), a sliding window, grouped-query heads; probabilities and the
    /// separate scores op (whose masked entries pass no gradient).
    @Test func attentionWithSoftCapAndWindow() {
        let q = random([2, 5, 4], seed: 7), k = random([2, 5, 2], seed: 8)
        let mask = AttentionMask(causal: true, window: 2)
        checkGradients([q, k]) { t in
            Attention.probabilities(query: t[0], key: t[1], heads: 2, kvHeads: 1, scale: 0.9, mask: mask, softCap: 1.5)
        }
        checkGradients([q, k]) { t in
            // Masked entries are −∞; the finite ones carry the gradient.
            let s = Attention.scores(query: t[0], key: t[1], heads: 2, kvHeads: 1, scale: 0.9, mask: mask, softCap: 1.5)
            return Tensor.where(s.greaterOrEqualMask(Tensor.full(s.shape, -1e30)), s, Tensor.zeros(s.shape))
        }
        // The window: query 4 sees keys 3 and 4 only.
        let p = Attention.probabilities(query: q, key: k, heads: 2, kvHeads: 1, scale: 0.9, mask: mask)
        #expect(p[0, 0, 4, 2] == 0 && p[0, 0, 4, 3] > 0 && p[0, 0, 4, 4] > 0)
        #expect(abs(p.sum(axis: -1).mean().item - 1) < 1e-5)
    }

    @Test func attentionOnStridedThirdsOfAFusedProjection() {
        // q, k and v as views into one (B, S, 3·d) tensor, as GPT-2's c_attn output is used.
        let fused = random([2, 3, 12], seed: 4)
        checkGradients([fused]) { t in
            let parts = t[0].split(sizes: [4, 4, 4], axis: 2)
            let p = Attention.probabilities(query: parts[0], key: parts[1], heads: 2, kvHeads: 2, scale: 0.7,
                                            mask: AttentionMask(causal: true))
            return Attention.context(probabilities: p, value: parts[2], kvHeads: 2)
        }
    }

    @Test func rotaryFullAndPartial() {
        let x = random([2, 3, 8], seed: 1)
        checkGradients([x]) { RotaryEmbedding(rotaryDim: 4, headDim: 4, base: 10000).apply($0[0], positions: [[0, 1, 2], [5, 6, 7]]) }
        checkGradients([x]) { RotaryEmbedding(rotaryDim: 2, headDim: 8, base: 100).apply($0[0], positions: [[3, 4, 5], [0, 1, 2]]) }
    }

    @Test func losses() {
        let logits = random([4, 5], seed: 1)
        checkGradients([logits]) { Tensor.crossEntropy(logits: $0[0], targets: [1, 4, -100, 0]) }
        checkGradients([logits, random([4, 5], seed: 2)]) { Tensor.meanSquaredError($0[0], $0[1]) }
        checkGradients([logits]) { x in
            var g = RandomGenerator(seed: 3)
            return x[0].dropout(0.3, using: &g)
        }
    }

    @Test func cayleyTransform() {
        let w = random([5, 5], seed: 1, scale: 0.3)
        checkGradients([w], atol: 1e-3) { Cayley.transform($0[0]) }
    }
}
