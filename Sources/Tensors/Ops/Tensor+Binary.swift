import CKernels

/// Elementwise arithmetic between tensors with broadcasting, each differentiable.
extension Tensor {
    /// Runs `op` over the broadcast of `a` and `b` into a fresh contiguous tensor.
    static func broadcastKernel(_ op: ik_binary_op, _ a: Tensor, _ b: Tensor) -> Tensor {
        guard let outShape = Broadcasting.shape(a.shape, b.shape) else {
            preconditionFailure("shapes \(a.shape) and \(b.shape) cannot be broadcast together")
        }
        // Views are read in place unless their innermost stride is neither dense nor repeated.
        func operand(_ t: Tensor) -> Tensor {
            if t.isContiguous { return t.detached() }
            guard let d = t.shape.lastIndex(where: { $0 != 1 }), t.strides[d] > 1 else { return t.detached() }
            return t.contiguousData()
        }
        let ca = operand(a), cb = operand(b)
        let out = Tensor(uninitializedShape: outShape)
        let n = out.count
        let ap = ca.basePointer, bp = cb.basePointer, op32 = Int32(op.rawValue)
        let dst = out.storage.pointer
        if ca.isContiguous && cb.isContiguous && ca.shape == outShape && cb.shape == outShape {
            Parallel.forRanges(n) { r in
                ik_binary(op32, ap + r.lowerBound, 1, bp + r.lowerBound, 1, dst + r.lowerBound, r.count)
            }
            return out
        }
        if cb.count == 1 && ca.isContiguous && ca.shape == outShape {
            Parallel.forRanges(n) { r in
                ik_binary(op32, ap + r.lowerBound, 1, bp, 0, dst + r.lowerBound, r.count)
            }
            return out
        }
        if ca.count == 1 && cb.isContiguous && cb.shape == outShape {
            Parallel.forRanges(n) { r in
                ik_binary(op32, ap, 0, bp + r.lowerBound, 1, dst + r.lowerBound, r.count)
            }
            return out
        }
        let sa = Broadcasting.strides(shape: ca.shape, strides: ca.strides, to: outShape)
        let sb = Broadcasting.strides(shape: cb.shape, strides: cb.strides, to: outShape)
        // The innermost run of dimensions that each operand reads either densely (stride 1) or
        // as one repeated value (stride 0); the kernel runs over that run, an odometer over the rest.
        let rank = outShape.count
        var inner = 1
        var splitAxis = rank
        var denseA: Bool?, denseB: Bool?
        while splitAxis > 0 {
            let d = splitAxis - 1
            let size = outShape[d]
            if size == 1 { splitAxis = d; continue }
            let modeA: Bool? = sa[d] == inner ? true : (sa[d] == 0 ? false : nil)
            let modeB: Bool? = sb[d] == inner ? true : (sb[d] == 0 ? false : nil)
            guard let ma = modeA, let mb = modeB else { break }
            if let known = denseA, known != ma { break }
            if let known = denseB, known != mb { break }
            denseA = ma
            denseB = mb
            inner *= size
            splitAxis = d
        }
        let strideA = denseA == false ? 0 : 1
        let strideB = denseB == false ? 0 : 1
        let outer = n / Swift.max(inner, 1)
        let outerShape = Array(outShape[0..<splitAxis])
        let outerA = Array(sa[0..<splitAxis]), outerB = Array(sb[0..<splitAxis])
        Parallel.forRanges(outer, grain: Swift.max(1, (1 << 16) / Swift.max(inner, 1)), alignment: 1) { rows in
            var odometer = IndexOdometer(shape: outerShape, startingAt: rows.lowerBound)
            for row in rows {
                ik_binary(op32, ap + odometer.offset(outerA), strideA, bp + odometer.offset(outerB), strideB, dst + row * inner, inner)
                odometer.advance()
            }
        }
        return out
    }

    /// a + b with broadcasting.
    public static func + (a: Tensor, b: Tensor) -> Tensor {
        broadcastKernel(IK_ADD, a, b).recordingGradient(inputs: [a, b]) { g, needs in
            [needs[0] ? g.summed(toShape: a.shape) : nil, needs[1] ? g.summed(toShape: b.shape) : nil]
        }
    }

    /// a − b with broadcasting.
    public static func - (a: Tensor, b: Tensor) -> Tensor {
        broadcastKernel(IK_SUB, a, b).recordingGradient(inputs: [a, b]) { g, needs in
            [needs[0] ? g.summed(toShape: a.shape) : nil, needs[1] ? (-g).summed(toShape: b.shape) : nil]
        }
    }

    /// a ⊙ b with broadcasting.
    public static func * (a: Tensor, b: Tensor) -> Tensor {
        let ad = a.detached(), bd = b.detached()
        return broadcastKernel(IK_MUL, a, b).recordingGradient(inputs: [a, b]) { g, needs in
            [needs[0] ? broadcastKernel(IK_MUL, g, bd).summed(toShape: a.shape) : nil,
             needs[1] ? broadcastKernel(IK_MUL, g, ad).summed(toShape: b.shape) : nil]
        }
    }

    /// a / b with broadcasting.
    public static func / (a: Tensor, b: Tensor) -> Tensor {
        let ad = a.detached(), bd = b.detached()
        return broadcastKernel(IK_DIV, a, b).recordingGradient(inputs: [a, b]) { g, needs in
            var grads: [Tensor?] = [nil, nil]
            let gOverB = broadcastKernel(IK_DIV, g, bd)
            if needs[0] { grads[0] = gOverB.summed(toShape: a.shape) }
            if needs[1] {
                let q = broadcastKernel(IK_DIV, broadcastKernel(IK_MUL, gOverB, ad), bd)
                grads[1] = (-q).summed(toShape: b.shape)
            }
            return grads
        }
    }

    /// Elementwise maximum (the gradient goes to the larger operand; ties to `a`).
    public static func maximum(_ a: Tensor, _ b: Tensor) -> Tensor {
        let out = broadcastKernel(IK_MAX, a, b)
        let ad = a.detached(), bd = b.detached()
        return out.recordingGradient(inputs: [a, b]) { g, needs in
            let takeA = ad.greaterOrEqualMask(bd)
            return [needs[0] ? broadcastKernel(IK_MUL, g, takeA).summed(toShape: a.shape) : nil,
                    needs[1] ? broadcastKernel(IK_MUL, g, 1 - takeA).summed(toShape: b.shape) : nil]
        }
    }

    /// 1 where self ≥ other (broadcast), else 0; not differentiable.
    public func greaterOrEqualMask(_ other: Tensor) -> Tensor {
        let diff = Tensor.broadcastKernel(IK_SUB, self, other)
        let out = Tensor(uninitializedShape: diff.shape)
        let s = diff.storage.pointer, d = out.storage.pointer
        for i in 0..<diff.count { d[i] = s[i] >= 0 ? 1 : 0 }
        return out
    }

    /// Adds `other` (same shape) into this tensor's own memory when it is not shared; used for
    /// gradient accumulation. Not recorded by autodiff.
    public mutating func addInPlace(_ other: Tensor) {
        precondition(other.shape == shape, "addInPlace shape mismatch \(shape) vs \(other.shape)")
        let o = other.contiguousData()
        gradNode = nil
        withUnsafeMutableElements { buffer in
            let dst = buffer.baseAddress!, src = o.basePointer
            Parallel.forRanges(buffer.count) { r in
                ik_accumulate(dst + r.lowerBound, src + r.lowerBound, r.count)
            }
        }
    }
}
