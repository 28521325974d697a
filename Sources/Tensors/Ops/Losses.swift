import CKernels

/// Training objectives.
extension Tensor {
    /// Mean cross-entropy of (N, C) logits against class indices, skipping targets equal to
    /// `ignoreIndex` (the mean is over the rest; 0 when all are ignored). Fused with log-softmax:
    /// the gradient is (softmax − one-hot) / count.
    public static func crossEntropy(logits: Tensor, targets: [Int], ignoreIndex: Int = -100) -> Tensor {
        precondition(logits.rank == 2 && logits.shape[0] == targets.count,
                     "crossEntropy expects (N, C) logits and N targets, got \(logits.shape) and \(targets.count)")
        let n = logits.shape[0], classes = logits.shape[1]
        let x = logits.contiguousData()
        var logProbabilities = Tensor(uninitializedShape: [n, classes])
        ik_log_softmax_rows(x.basePointer, logProbabilities.storage.pointer, n, classes)
        var total: Double = 0
        var counted = 0
        for (i, t) in targets.enumerated() where t != ignoreIndex {
            precondition(t >= 0 && t < classes, "target \(t) out of range 0..<\(classes)")
            total -= Double(logProbabilities.storage.pointer[i * classes + t])
            counted += 1
        }
        let loss = counted > 0 ? Float(total / Double(counted)) : 0
        logProbabilities.gradNode = nil
        let lp = logProbabilities
        return Tensor(scalar: loss).recordingGradient(inputs: [logits]) { g, _ in
            let scale = counted > 0 ? g.item / Float(counted) : 0
            let dx = Tensor(uninitializedShape: [n, classes])
            let src = lp.basePointer, dst = dx.storage.pointer
            ik_unary(Int32(IK_EXP.rawValue), src, dst, n * classes)
            for (i, t) in targets.enumerated() {
                let row = dst + i * classes
                if t == ignoreIndex {
                    row.update(repeating: 0, count: classes)
                    continue
                }
                row[t] -= 1
                for j in 0..<classes { row[j] *= scale }
            }
            return [dx]
        }
    }

    /// Mean squared error between tensors of the same shape.
    public static func meanSquaredError(_ prediction: Tensor, _ target: Tensor) -> Tensor {
        (prediction - target).square().mean()
    }

    /// Inverted dropout: zeroes each element with probability `p` and scales the rest by
    /// 1/(1 − p). Identity when `p` is 0.
    public func dropout(_ p: Float, using generator: inout RandomGenerator) -> Tensor {
        if p <= 0 { return self }
        precondition(p < 1, "dropout probability must be below 1")
        let keep = Tensor.randomBernoulli(shape, probability: 1 - p, using: &generator) * (1 / (1 - p))
        return self * keep
    }
}
