import CKernels

/// Which key positions each query may attend to.
public struct AttentionMask: Sendable {
    /// Queries attend only to keys at or before their own position. With a KV cache the queries
    /// are the last `Sq` of `Sk` positions.
    public var causal: Bool
    /// Per example, per key position: true to attend, false to mask (padding). nil: all keys.
    public var keyPadding: [[Bool]]?
    /// Sliding window W: the query at position i sees only keys j with i − W < j ≤ i (with
    /// `causal`). nil: no window.
    public var window: Int?

    /// A mask description.
    public init(causal: Bool, keyPadding: [[Bool]]? = nil, window: Int? = nil) {
        self.causal = causal
        self.keyPadding = keyPadding
        self.window = window
    }
}

/// Scaled dot-product attention in two differentiable steps, so that the probabilities can be
/// read or replaced between them (pyvene's `attention_weight` site):
///
///     P = softmax(Q Kᵀ · scale + mask)        (B, H, Sq, Sk)
///     O = P V  with heads merged head-major   (B, Sq, H·hd)
///
/// Q is (B, Sq, H·hd) and K, V are (B, Sk, Hkv·hd) with H a multiple of Hkv (grouped-query and
/// multi-query attention: query head h reads key/value head h / (H / Hkv)). Inputs may be strided
/// views (for example the q, k and v thirds of a fused projection): each head is read in place
/// through BLAS leading dimensions, never copied or permuted.
public enum Attention {
    /// A (rows × hd) head slice of a (B, S, heads·hd) tensor as a BLAS operand.
    static func head(_ t: Tensor, batch b: Int, head h: Int, headDim: Int) -> BLASOperand {
        let p = t.storage.pointer + t.offset + b * t.strides[0] + h * headDim * t.strides[2]
        return BLASOperand(pointer: p, rows: t.shape[1], cols: headDim, rowStride: t.strides[1], colStride: t.strides[2])!
    }

    /// Makes the last dimension unit-stride if it is not (rare: the layout BLAS needs).
    static func headReadable(_ t: Tensor) -> Tensor {
        t.strides[2] == 1 ? t.detached() : t.contiguousData()
    }

    /// Attention probabilities P = softmax(cap(scale · Q Kᵀ) + mask), shape (B, H, Sq, Sk), where
    /// cap(s) = c·tanh(s / c) with `softCap` c (Gemma 2) and the identity without. Scores and
    /// softmax are computed in one pass over each (batch, head) block.
    public static func probabilities(query: Tensor, key: Tensor, heads: Int, kvHeads: Int, scale: Float,
                                     mask: AttentionMask, softCap: Float? = nil) -> Tensor {
        let problem = ScoreProblem(query: query, key: key, heads: heads, kvHeads: kvHeads, scale: scale, mask: mask, softCap: softCap)
        let (out, capped) = problem.compute(softmax: true)
        return out.recordingGradient(inputs: [query, key]) { [out] g, needs in
            problem.gradients(Tensor.softmaxBackward(y: out, grad: g), capped: capped, needs: needs)
        }
    }

    /// Attention scores S = cap(scale · Q Kᵀ) + mask before the softmax, shape (B, H, Sq, Sk),
    /// masked entries −∞ (TransformerLens's `hook_attn_scores`). Masked entries pass no gradient.
    public static func scores(query: Tensor, key: Tensor, heads: Int, kvHeads: Int, scale: Float,
                              mask: AttentionMask, softCap: Float? = nil) -> Tensor {
        let problem = ScoreProblem(query: query, key: key, heads: heads, kvHeads: kvHeads, scale: scale, mask: mask, softCap: softCap)
        let (out, capped) = problem.compute(softmax: false)
        return out.recordingGradient(inputs: [query, key]) { g, needs in
            let dScores = g.copy()
            problem.maskGradient(dScores)
            return problem.gradients(dScores, capped: capped, needs: needs)
        }
    }

    /// Merged-head context O = P V, shape (B, Sq, H·hd).
    public static func context(probabilities p: Tensor, value: Tensor, kvHeads: Int) -> Tensor {
        let batch = p.shape[0], heads = p.shape[1], sq = p.shape[2], sk = p.shape[3]
        let headDim = value.shape[2] / kvHeads
        precondition(value.shape[1] == sk && value.shape[2] == kvHeads * headDim, "attention: value shape \(value.shape) does not fit probabilities \(p.shape)")
        let group = heads / kvHeads
        let pc = p.contiguousData(), v = headReadable(value)
        let out = Tensor(uninitializedShape: [batch, sq, heads * headDim])
        let dst = out.storage.pointer, pp = pc.basePointer
        for bh in 0..<(batch * heads) {
            let b = bh / heads, h = bh % heads
            let pm = BLASOperand(pointer: pp + bh * sq * sk, rows: sq, cols: sk, rowStride: sk, colStride: 1)!
            BLAS.gemm(pm, head(v, batch: b, head: h / group, headDim: headDim),
                      into: dst + b * sq * heads * headDim + h * headDim, ldc: heads * headDim)
        }
        // The backward pass reads P through `pc`, captured so that its storage outlives the forward
        // pass (P itself may be a temporary of the caller's).
        return out.recordingGradient(inputs: [p, value]) { [pc] g, needs in
            let pp = pc.basePointer
            let gc = g.contiguousData()
            let dp: Tensor? = needs[0] ? Tensor(uninitializedShape: [batch, heads, sq, sk]) : nil
            let dv: Tensor? = needs[1] ? Tensor.zeros([batch, sk, kvHeads * headDim]) : nil
            for b in 0..<batch {
                for h in 0..<heads {
                    let gh = head(gc, batch: b, head: h, headDim: headDim)
                    if dp != nil {
                        // dP_h = dO_h · V_hᵀ
                        BLAS.gemm(gh, transposedOperand(head(v, batch: b, head: h / group, headDim: headDim)),
                                  into: dp!.storage.pointer + (b * heads + h) * sq * sk, ldc: sk)
                    }
                    if dv != nil {
                        // dV_kv += P_hᵀ · dO_h
                        let pm = BLASOperand(pointer: pp + (b * heads + h) * sq * sk, rows: sq, cols: sk, rowStride: sk, colStride: 1)!
                        BLAS.gemm(transposedOperand(pm), gh,
                                  into: dv!.storage.pointer + b * sk * kvHeads * headDim + (h / group) * headDim,
                                  ldc: kvHeads * headDim, beta: 1)
                    }
                }
            }
            return [dp, dv]
        }
    }

    /// The transpose of an operand (same memory, flipped flag).
    static func transposedOperand(_ op: BLASOperand) -> BLASOperand {
        BLASOperand(transposeOf: op)
    }

    /// Sets masked scores to `fill` (−∞: exact zeros after softmax).
    static func applyMask(_ scores: UnsafeMutablePointer<Float>, queries sq: Int, keys sk: Int, causal: Bool,
                          window: Int?, padding: [Bool]?, fill: Float = -.infinity) {
        let shift = sk - sq
        if causal {
            for i in 0..<sq {
                let firstHidden = i + shift + 1
                if firstHidden < sk {
                    (scores + i * sk + firstHidden).update(repeating: fill, count: sk - firstHidden)
                }
            }
        }
        if let window {
            // Query i (absolute position i + shift) sees keys j > i + shift − W.
            for i in 0..<sq {
                let firstSeen = Swift.min(Swift.max(i + shift - window + 1, 0), sk)
                if firstSeen > 0 { (scores + i * sk).update(repeating: fill, count: firstSeen) }
            }
        }
        if let padding {
            for j in 0..<sk where !padding[j] {
                for i in 0..<sq { scores[i * sk + j] = fill }
            }
        }
    }
}

extension BLASOperand {
    /// The transpose of `op`, reading the same memory.
    init(transposeOf op: BLASOperand) {
        self.init(rawPointer: op.pointer, transposed: !op.transposed, leadingDimension: op.leadingDimension,
                  rows: op.cols, cols: op.rows)
    }
}
