import CKernels

/// One attention score computation, S = cap(scale · Q Kᵀ) + mask per (batch, head), and its
/// backward pass to Q and K — shared by `Attention.scores` and `Attention.probabilities`.
///
/// Q is (B, Sq, H·hd), K is (B, Sk, Hkv·hd); query head h reads key head h / (H / Hkv).
struct ScoreProblem {
    let query: Tensor, key: Tensor
    let heads: Int, kvHeads: Int, scale: Float
    let mask: AttentionMask
    let softCap: Float?
    let batch: Int, sq: Int, sk: Int, headDim: Int

    init(query: Tensor, key: Tensor, heads: Int, kvHeads: Int, scale: Float, mask: AttentionMask, softCap: Float?) {
        precondition(query.rank == 3 && key.rank == 3, "attention expects (B, S, H·hd) query and key")
        batch = query.shape[0]
        sq = query.shape[1]
        sk = key.shape[1]
        headDim = query.shape[2] / heads
        precondition(query.shape[2] == heads * headDim && key.shape[2] == kvHeads * headDim && heads % kvHeads == 0,
                     "attention: widths \(query.shape[2]) / \(key.shape[2]) do not fit \(heads) heads and \(kvHeads) kv heads")
        self.query = Attention.headReadable(query)
        self.key = Attention.headReadable(key)
        self.heads = heads
        self.kvHeads = kvHeads
        self.scale = scale
        self.mask = mask
        self.softCap = softCap
    }

    var group: Int { heads / kvHeads }

    /// The masked scores (or, with `softmax`, the probabilities) and tanh(s / c) of every score
    /// when soft-capped (kept for the backward pass).
    func compute(softmax: Bool) -> (Tensor, Tensor?) {
        let out = Tensor(uninitializedShape: [batch, heads, sq, sk])
        let dst = out.storage.pointer
        let capped: Tensor? = softCap.map { _ in Tensor(uninitializedShape: [batch, heads, sq, sk]) }
        // One (batch, head) at a time: OpenBLAS threads each product.
        for bh in 0..<(batch * heads) {
            let b = bh / heads, h = bh % heads
            let scores = dst + bh * sq * sk
            let kT = Attention.transposedOperand(Attention.head(key, batch: b, head: h / group, headDim: headDim))
            BLAS.gemm(Attention.head(query, batch: b, head: h, headDim: headDim), kT, into: scores, ldc: sk, alpha: scale)
            if let softCap, let capped {
                let t = capped.storage.pointer + bh * sq * sk
                ik_affine(scores, 1 / softCap, 0, t, sq * sk)
                ik_unary(Int32(IK_TANH.rawValue), t, t, sq * sk)
                ik_affine(t, softCap, 0, scores, sq * sk)
            }
            Attention.applyMask(scores, queries: sq, keys: sk, causal: mask.causal, window: mask.window, padding: mask.keyPadding?[b])
            if softmax { ik_softmax_rows(scores, scores, sq, sk) }
        }
        return (out, capped)
    }

    /// Zeroes the gradient of masked scores (in place; `dScores` owns its contiguous storage).
    func maskGradient(_ dScores: Tensor) {
        for bh in 0..<(batch * heads) {
            Attention.applyMask(dScores.storage.pointer + bh * sq * sk, queries: sq, keys: sk, causal: mask.causal,
                                window: mask.window, padding: mask.keyPadding?[bh / heads], fill: 0)
        }
    }

    /// dQ and dK from the gradient of the (capped, masked) scores.
    func gradients(_ dScores: Tensor, capped: Tensor?, needs: [Bool]) -> [Tensor?] {
        var dScores = dScores
        if let capped { dScores = dScores * (1 - capped.square()) }  // d(c·tanh(s/c))/ds = 1 − tanh²
        dScores = dScores.contiguousData()
        // Every (b, h) block of dQ is written once (beta 0); dK blocks sum over a kv group.
        let dq: Tensor? = needs[0] ? Tensor(uninitializedShape: [batch, sq, heads * headDim]) : nil
        let dk: Tensor? = needs[1] ? Tensor.zeros([batch, sk, kvHeads * headDim]) : nil
        let ds = dScores.basePointer
        for b in 0..<batch {
            for h in 0..<heads {
                let s = BLASOperand(pointer: ds + (b * heads + h) * sq * sk, rows: sq, cols: sk, rowStride: sk, colStride: 1)!
                if let dq {
                    // dQ_h = scale · dS · K_h
                    BLAS.gemm(s, Attention.head(key, batch: b, head: h / group, headDim: headDim),
                              into: dq.storage.pointer + b * sq * heads * headDim + h * headDim,
                              ldc: heads * headDim, alpha: scale, beta: 0)
                }
                if let dk {
                    // dK_kv += scale · dSᵀ · Q_h
                    BLAS.gemm(Attention.transposedOperand(s), Attention.head(query, batch: b, head: h, headDim: headDim),
                              into: dk.storage.pointer + b * sk * kvHeads * headDim + (h / group) * headDim,
                              ldc: kvHeads * headDim, alpha: scale, beta: 1)
                }
            }
        }
        return [dq, dk]
    }
}
