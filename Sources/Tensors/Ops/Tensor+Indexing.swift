import CKernels

/// Embedding lookup, gathers and scatters along an axis, selection and masking.
extension Tensor {
    /// Rows of a (V, D) table picked by integer ids: the result has shape ids.shape + [D].
    /// Differentiable with respect to the table (gradients are scatter-added per id).
    public static func embedding(_ table: Tensor, ids: IndexTensor) -> Tensor {
        precondition(table.rank == 2, "embedding table must be 2-D, got \(table.shape)")
        let vocab = table.shape[0], dim = table.shape[1]
        let t = table.contiguousData()
        let out = Tensor(uninitializedShape: ids.shape + [dim])
        let src = t.basePointer, dst = out.storage.pointer
        for (i, id) in ids.values.enumerated() {
            precondition(id >= 0 && id < vocab, "id \(id) out of range 0..<\(vocab)")
            (dst + i * dim).update(from: src + id * dim, count: dim)
        }
        return out.recordingGradient(inputs: [table]) { g, _ in
            let gc = g.contiguousData()
            let dt = Tensor.zeros([vocab, dim])
            let gp = gc.basePointer, dp = dt.storage.pointer
            for (i, id) in ids.values.enumerated() {
                ik_accumulate(dp + id * dim, gp + i * dim, dim)
            }
            return [dt]
        }
    }

    /// Slices along `axis` picked by `indices` (which may repeat): result size along `axis` is
    /// `indices.count`.
    public func indexSelect(axis: Int, indices: [Int]) -> Tensor {
        let a = normalizedAxis(axis)
        let (outer, length, inner) = splitAround(a)
        for i in indices { precondition(i >= 0 && i < length, "index \(i) out of range 0..<\(length) on axis \(a)") }
        let x = contiguousData()
        var outShape = shape
        outShape[a] = indices.count
        let out = Tensor(uninitializedShape: outShape)
        let src = x.basePointer, dst = out.storage.pointer
        for o in 0..<outer {
            for (j, i) in indices.enumerated() {
                (dst + (o * indices.count + j) * inner).update(from: src + (o * length + i) * inner, count: inner)
            }
        }
        let original = shape
        return out.recordingGradient(inputs: [self]) { g, _ in
            let gc = g.contiguousData()
            let dx = Tensor.zeros(original)
            let gp = gc.basePointer, dp = dx.storage.pointer
            for o in 0..<outer {
                for (j, i) in indices.enumerated() {
                    ik_accumulate(dp + (o * length + i) * inner, gp + (o * indices.count + j) * inner, inner)
                }
            }
            return [dx]
        }
    }

    /// Per-example selection: for a tensor whose axis 0 is the batch, picks along `axis` the
    /// indices `indices[b]` for example b (every row the same length n). Result: axis size n.
    public func gatherPerExample(axis: Int, indices: [[Int]]) -> Tensor {
        let a = normalizedAxis(axis)
        precondition(a >= 1, "gatherPerExample: axis must be after the batch axis")
        precondition(indices.count == shape[0], "gatherPerExample: \(indices.count) index rows for batch \(shape[0])")
        let n = indices.first?.count ?? 0
        precondition(indices.allSatisfy { $0.count == n }, "gatherPerExample: index rows differ in length")
        let batch = shape[0]
        let middle = shape[1..<a].reduce(1, *)
        let length = shape[a]
        let inner = shape[(a + 1)...].reduce(1, *)
        for row in indices { for i in row { precondition(i >= 0 && i < length, "index \(i) out of range 0..<\(length)") } }
        let x = contiguousData()
        var outShape = shape
        outShape[a] = n
        let out = Tensor(uninitializedShape: outShape)
        let src = x.basePointer, dst = out.storage.pointer
        for b in 0..<batch {
            for m in 0..<middle {
                let srcBase = src + ((b * middle + m) * length) * inner
                let dstBase = dst + ((b * middle + m) * n) * inner
                for (j, i) in indices[b].enumerated() {
                    (dstBase + j * inner).update(from: srcBase + i * inner, count: inner)
                }
            }
        }
        let original = shape
        return out.recordingGradient(inputs: [self]) { g, _ in
            var dx = Tensor.zeros(original)
            dx.scatterPerExample(axis: a, indices: indices, values: g, mode: .accumulate)
            return [dx]
        }
    }

    /// How `scatterPerExample` writes each selected slice.
    enum ScatterMode { case replace, accumulate, zero }

    /// Writes `values` (nil for `.zero`) into the per-example indices along `axis` (in place,
    /// not recorded).
    mutating func scatterPerExample(axis a: Int, indices: [[Int]], values: Tensor?, mode: ScatterMode) {
        let batch = shape[0]
        let middle = shape[1..<a].reduce(1, *)
        let length = shape[a]
        let inner = shape[(a + 1)...].reduce(1, *)
        let n = indices.first?.count ?? 0
        let v = values?.contiguousData()
        withUnsafeMutableElements { buffer in
            let dst = buffer.baseAddress!, src = v?.basePointer
            for b in 0..<batch {
                for m in 0..<middle {
                    let dstBase = dst + ((b * middle + m) * length) * inner
                    for (j, i) in indices[b].enumerated() {
                        let d = dstBase + i * inner
                        switch mode {
                        case .zero: d.update(repeating: 0, count: inner)
                        case .replace: d.update(from: src! + ((b * middle + m) * n + j) * inner, count: inner)
                        case .accumulate: ik_accumulate(d, src! + ((b * middle + m) * n + j) * inner, inner)
                        }
                    }
                }
            }
        }
    }

    /// A copy of this tensor whose per-example slices `indices[b]` along `axis` are replaced by
    /// `values` (shape: this shape with axis size n). Differentiable in both this tensor (zero
    /// gradient where overwritten) and `values`.
    public func scatteringPerExample(axis: Int, indices: [[Int]], values: Tensor) -> Tensor {
        let a = normalizedAxis(axis)
        var expected = shape
        expected[a] = indices.first?.count ?? 0
        precondition(values.shape == expected, "scatter values \(values.shape) should be \(expected)")
        for row in indices { for i in row { precondition(i >= 0 && i < shape[a], "index \(i) out of range 0..<\(shape[a])") } }
        var out = contiguousData()
        out.scatterPerExample(axis: a, indices: indices, values: values, mode: .replace)
        return out.recordingGradient(inputs: [self, values]) { g, needs in
            var grads: [Tensor?] = [nil, nil]
            if needs[0] {
                var gx = g.contiguousData()
                gx.scatterPerExample(axis: a, indices: indices, values: nil, mode: .zero)
                grads[0] = gx
            }
            if needs[1] { grads[1] = g.detached().gatherPerExample(axis: a, indices: indices) }
            return grads
        }
    }

    /// torch.gather: out[…, j, …] = self[…, index[…, j, …], …] along `axis`; `index` has the
    /// result's shape.
    public func gather(axis: Int, index: IndexTensor) -> Tensor {
        let a = normalizedAxis(axis)
        precondition(index.shape.count == rank, "gather: index rank \(index.shape.count) must equal \(rank)")
        let x = contiguousData()
        let out = Tensor(uninitializedShape: index.shape)
        let offsets = Tensor.gatherOffsets(sourceShape: shape, index: index, axis: a)
        let src = x.basePointer, dst = out.storage.pointer
        for (i, off) in offsets.enumerated() { dst[i] = src[off] }
        let original = shape
        return out.recordingGradient(inputs: [self]) { g, _ in
            let gc = g.contiguousData()
            let dx = Tensor.zeros(original)
            let gp = gc.basePointer, dp = dx.storage.pointer
            for (i, off) in offsets.enumerated() { dp[off] += gp[i] }
            return [dx]
        }
    }

    /// torch.scatter: a copy of self with self[…, index[…, j, …], …] = source[…, j, …] along
    /// `axis`. Differentiable in self (zero where overwritten) and source.
    public func scatter(axis: Int, index: IndexTensor, source: Tensor) -> Tensor {
        let a = normalizedAxis(axis)
        precondition(source.shape == index.shape, "scatter: source \(source.shape) must match index \(index.shape)")
        let offsets = Tensor.gatherOffsets(sourceShape: shape, index: index, axis: a)
        var out = contiguousData()
        let s = source.contiguousData()
        out.withUnsafeMutableElements { buffer in
            for (i, off) in offsets.enumerated() { buffer[off] = s.basePointer[i] }
        }
        return out.recordingGradient(inputs: [self, source]) { g, needs in
            var grads: [Tensor?] = [nil, nil]
            let gc = g.contiguousData()
            if needs[0] {
                var gx = gc
                gx.withUnsafeMutableElements { buffer in for off in offsets { buffer[off] = 0 } }
                grads[0] = gx
            }
            if needs[1] {
                let gs = Tensor(uninitializedShape: index.shape)
                for (i, off) in offsets.enumerated() { gs.storage.pointer[i] = gc.basePointer[off] }
                grads[1] = gs
            }
            return grads
        }
    }

    /// Flat source offsets addressed by a gather/scatter index along `axis`.
    static func gatherOffsets(sourceShape: [Int], index: IndexTensor, axis: Int) -> [Int] {
        let strides = Tensor.contiguousStrides(for: sourceShape)
        let ishape = index.shape
        for d in 0..<ishape.count where d != axis {
            precondition(ishape[d] <= sourceShape[d], "gather/scatter: index dimension \(d) is larger than the source")
        }
        var offsets = [Int](repeating: 0, count: index.values.count)
        var odometer = IndexOdometer(shape: ishape)
        var strideExceptAxis = strides
        strideExceptAxis[axis] = 0
        for i in 0..<index.values.count {
            let v = index.values[i]
            precondition(v >= 0 && v < sourceShape[axis], "index \(v) out of range 0..<\(sourceShape[axis])")
            offsets[i] = odometer.offset(strideExceptAxis) + v * strides[axis]
            odometer.advance()
        }
        return offsets
    }

    /// Elementwise choice: `a` where `condition` is nonzero, else `b` (all broadcast together).
    /// Differentiable in `a` and `b`.
    /// The unchosen side never enters the result, so an infinity or NaN there does no harm.
    public static func `where`(_ condition: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
        guard let ab = Broadcasting.shape(a.shape, b.shape), let shape = Broadcasting.shape(ab, condition.shape) else {
            preconditionFailure("where: shapes \(condition.shape), \(a.shape) and \(b.shape) do not broadcast")
        }
        let chosen = condition.broadcast(to: shape).contiguousData()
        let x = a.broadcast(to: shape).contiguousData(), y = b.broadcast(to: shape).contiguousData()
        let out = Tensor(uninitializedShape: shape)
        let c = chosen.basePointer, xp = x.basePointer, yp = y.basePointer, o = out.storage.pointer
        for i in 0..<out.count { o[i] = c[i] != 0 ? xp[i] : yp[i] }
        return out.recordingGradient(inputs: [a, b]) { [chosen] g, needs in
            let gc = g.contiguousData()
            func part(_ fromA: Bool, _ target: [Int]) -> Tensor {
                let d = Tensor(uninitializedShape: shape)
                let c = chosen.basePointer, gp = gc.basePointer, dp = d.storage.pointer
                for i in 0..<d.count { dp[i] = (c[i] != 0) == fromA ? gp[i] : 0 }
                return d.summed(toShape: target)
            }
            return [needs[0] ? part(true, a.shape) : nil, needs[1] ? part(false, b.shape) : nil]
        }
    }

    /// Replaces elements where `mask` (broadcastable) is nonzero with `value`.
    public func maskedFill(_ mask: Tensor, value: Float) -> Tensor {
        guard let outShape = Broadcasting.shape(shape, mask.shape), outShape == shape else {
            preconditionFailure("maskedFill: mask \(mask.shape) does not broadcast to \(shape)")
        }
        let m = mask.broadcast(to: shape).contiguousData()
        var out = contiguousData()
        out.withUnsafeMutableElements { buffer in
            let mp = m.basePointer
            for i in 0..<buffer.count where mp[i] != 0 { buffer[i] = value }
        }
        return out.recordingGradient(inputs: [self]) { g, _ in
            var gx = g.contiguousData()
            gx.withUnsafeMutableElements { buffer in
                let mp = m.basePointer
                for i in 0..<buffer.count where mp[i] != 0 { buffer[i] = 0 }
            }
            return [gx]
        }
    }

    /// Applies a scalar function to every element (not differentiable).
    public func map(_ transform: (Float) -> Float) -> Tensor {
        let x = contiguousData()
        let out = Tensor(uninitializedShape: shape)
        let src = x.basePointer, dst = out.storage.pointer
        for i in 0..<count { dst[i] = transform(src[i]) }
        return out
    }
}
