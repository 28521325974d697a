import CKernels

/// Softmax, log-softmax, layer norm and RMS norm over the last dimension.
extension Tensor {
    /// Numerically stable softmax over the last dimension. Rows that are entirely −∞ give zeros.
    public func softmax() -> Tensor {
        let cols = shape[rank - 1]
        let rows = count / Swift.max(cols, 1)
        let x = contiguousData()
        let out = Tensor(uninitializedShape: shape)
        let src = x.basePointer, dst = out.storage.pointer
        Parallel.forRanges(rows, grain: Swift.max(1, 32768 / Swift.max(cols, 1)), alignment: 1) { r in
            ik_softmax_rows(src + r.lowerBound * cols, dst + r.lowerBound * cols, r.count, cols)
        }
        let y = out
        return out.recordingGradient(inputs: [self]) { g, _ in
            [Tensor.softmaxBackward(y: y, grad: g)]
        }
    }

    /// dx = y ⊙ (g − Σ g ⊙ y) row by row.
    static func softmaxBackward(y: Tensor, grad: Tensor) -> Tensor {
        let cols = y.shape[y.rank - 1]
        let rows = y.count / Swift.max(cols, 1)
        let gc = grad.contiguousData()
        let dx = Tensor(uninitializedShape: y.shape)
        let yp = y.basePointer, gp = gc.basePointer, dp = dx.storage.pointer
        Parallel.forRanges(rows, grain: Swift.max(1, 32768 / Swift.max(cols, 1)), alignment: 1) { r in
            let o = r.lowerBound * cols
            ik_softmax_backward_rows(yp + o, gp + o, dp + o, r.count, cols)
        }
        return dx
    }

    /// Numerically stable log-softmax over the last dimension.
    public func logSoftmax() -> Tensor {
        let cols = shape[rank - 1]
        let rows = count / Swift.max(cols, 1)
        let x = contiguousData()
        let out = Tensor(uninitializedShape: shape)
        let src = x.basePointer, dst = out.storage.pointer
        Parallel.forRanges(rows, grain: Swift.max(1, 32768 / Swift.max(cols, 1)), alignment: 1) { r in
            ik_log_softmax_rows(src + r.lowerBound * cols, dst + r.lowerBound * cols, r.count, cols)
        }
        let y = out
        return out.recordingGradient(inputs: [self]) { g, _ in
            let gc = g.contiguousData()
            let dx = Tensor(uninitializedShape: y.shape)
            let yp = y.basePointer, gp = gc.basePointer, dp = dx.storage.pointer
            ik_log_softmax_backward_rows(yp, gp, dp, rows, cols)
            return [dx]
        }
    }

    /// Layer normalisation over the last dimension: y = (x − μ)/√(σ² + ε) · w + b, with the
    /// biased variance. Weight and bias (shape [d]) are optional.
    public func layerNorm(weight: Tensor?, bias: Tensor?, epsilon: Float) -> Tensor {
        let cols = shape[rank - 1]
        let rows = count / Swift.max(cols, 1)
        let x = contiguousData()
        let w = weight?.contiguousData(), b = bias?.contiguousData()
        let out = Tensor(uninitializedShape: shape)
        var mean = Tensor(uninitializedShape: [rows]), rstd = Tensor(uninitializedShape: [rows])
        ik_layer_norm_rows(x.basePointer, w?.basePointer, b?.basePointer, out.storage.pointer,
                           mean.storage.pointer, rstd.storage.pointer, rows, cols, epsilon)
        mean.gradNode = nil
        rstd.gradNode = nil
        let inputs = [self] + (weight.map { [$0] } ?? []) + (bias.map { [$0] } ?? [])
        let hasWeight = weight != nil, hasBias = bias != nil
        return out.recordingGradient(inputs: inputs) { g, needs in
            let gc = g.contiguousData()
            let dx: Tensor? = needs[0] ? Tensor(uninitializedShape: x.shape) : nil
            let dw: Tensor? = hasWeight && needs[1] ? Tensor.zeros([cols]) : nil
            let biasIndex = hasWeight ? 2 : 1
            let db: Tensor? = hasBias && needs[biasIndex] ? Tensor.zeros([cols]) : nil
            ik_layer_norm_backward_rows(x.basePointer, w?.basePointer, mean.basePointer, rstd.basePointer,
                                        gc.basePointer, dx?.storage.pointer, dw?.storage.pointer,
                                        db?.storage.pointer, rows, cols)
            var grads: [Tensor?] = [dx]
            if hasWeight { grads.append(dw) }
            if hasBias { grads.append(db) }
            return grads
        }
    }

    /// RMS normalisation over the last dimension: y = w ⊙ x / √(mean(x²) + ε).
    public func rmsNorm(weight: Tensor?, epsilon: Float) -> Tensor {
        let cols = shape[rank - 1]
        let rows = count / Swift.max(cols, 1)
        let x = contiguousData()
        let w = weight?.contiguousData()
        let out = Tensor(uninitializedShape: shape)
        var rstd = Tensor(uninitializedShape: [rows])
        ik_rms_norm_rows(x.basePointer, w?.basePointer, out.storage.pointer, rstd.storage.pointer, rows, cols, epsilon)
        rstd.gradNode = nil
        let inputs = [self] + (weight.map { [$0] } ?? [])
        let hasWeight = weight != nil
        return out.recordingGradient(inputs: inputs) { g, needs in
            let gc = g.contiguousData()
            let dx: Tensor? = needs[0] ? Tensor(uninitializedShape: x.shape) : nil
            let dw: Tensor? = hasWeight && needs[1] ? Tensor.zeros([cols]) : nil
            ik_rms_norm_backward_rows(x.basePointer, w?.basePointer, rstd.basePointer, gc.basePointer,
                                      dx?.storage.pointer, dw?.storage.pointer, rows, cols)
            return hasWeight ? [dx, dw] : [dx]
        }
    }
}
