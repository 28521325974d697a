import CKernels

/// Integer indices with a shape, as returned by argmax and top-k and taken by gathers.
public struct IndexTensor: Sendable, Equatable {
    /// Size of each dimension.
    public var shape: [Int]
    /// Row-major values.
    public var values: [Int]

    /// Wraps values with a shape.
    public init(shape: [Int], values: [Int]) {
        precondition(shape.reduce(1, *) == values.count, "index shape \(shape) does not match \(values.count) values")
        self.shape = shape
        self.values = values
    }

    /// A 1-D index tensor.
    public init(_ values: [Int]) { self.init(shape: [values.count], values: values) }
}

/// Sums, means, maxima and their friends along axes.
extension Tensor {
    /// (outer, length, inner) sizes around `axis`.
    func splitAround(_ axis: Int) -> (outer: Int, length: Int, inner: Int) {
        (shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
    }

    /// Sum over one axis (not recorded; used by `sum(axes:)`).
    func sumKernel(axis a: Int, keepDims: Bool) -> Tensor {
        let x = contiguousData()
        let (outer, length, inner) = splitAround(a)
        var outShape = shape
        outShape[a] = 1
        var out = Tensor.zeros(outShape)
        let src = x.basePointer, dst = out.storage.pointer
        if inner == 1 {
            Parallel.forRanges(outer, grain: Swift.max(1, 65536 / Swift.max(length, 1)), alignment: 1) { r in
                for o in r { dst[o] = ik_sum(src + o * length, length) }
            }
        } else {
            Parallel.forRanges(outer, grain: Swift.max(1, 65536 / Swift.max(length * inner, 1)), alignment: 1) { r in
                for o in r {
                    for l in 0..<length { ik_accumulate(dst + o * inner, src + (o * length + l) * inner, inner) }
                }
            }
        }
        if !keepDims { outShape.remove(at: a) }
        out.shape = outShape
        out.strides = Tensor.contiguousStrides(for: outShape)
        return out
    }

    /// Sum over `axes` (all axes when empty is not what you want: use `sum()`).
    public func sum(axes: [Int], keepDims: Bool = false) -> Tensor {
        let normalized = Array(Set(axes.map { normalizedAxis($0) })).sorted(by: >)
        var result = detached()
        for a in normalized { result = result.sumKernel(axis: a, keepDims: true) }
        if !keepDims {
            result = result.reshaped(shape.enumerated().filter { !normalized.contains($0.offset) }.map(\.element))
        }
        let original = shape
        let kept = shape.enumerated().map { normalized.contains($0.offset) ? 1 : $0.element }
        return result.recordingGradient(inputs: [self]) { grad, _ in
            [grad.reshaped(kept).broadcast(to: original).contiguous()]
        }
    }

    /// Sum along one axis.
    public func sum(axis: Int, keepDims: Bool = false) -> Tensor { sum(axes: [axis], keepDims: keepDims) }

    /// Sum of every element (a scalar tensor).
    public func sum() -> Tensor {
        let x = contiguousData()
        let n = count
        let total = ik_sum(x.basePointer, n)
        let original = shape
        return Tensor(scalar: total).recordingGradient(inputs: [self]) { grad, _ in
            [Tensor.full(original, grad.item)]
        }
    }

    /// Mean of every element.
    public func mean() -> Tensor { sum() * (1 / Float(Swift.max(count, 1))) }

    /// Mean along axes.
    public func mean(axes: [Int], keepDims: Bool = false) -> Tensor {
        let n = axes.map { shape[normalizedAxis($0)] }.reduce(1, *)
        return sum(axes: axes, keepDims: keepDims) * (1 / Float(Swift.max(n, 1)))
    }

    /// Mean along one axis.
    public func mean(axis: Int, keepDims: Bool = false) -> Tensor { mean(axes: [axis], keepDims: keepDims) }

    /// Largest value and its index along `axis` (first index on ties).
    func maxWithIndices(axis: Int) -> (values: Tensor, indices: [Int], shape: [Int]) {
        let a = normalizedAxis(axis)
        let x = contiguousData()
        let (outer, length, inner) = splitAround(a)
        var outShape = shape
        outShape.remove(at: a)
        let values = Tensor(uninitializedShape: outShape)
        var indices = [Int](repeating: 0, count: outer * inner)
        let src = x.basePointer, dst = values.storage.pointer
        indices.withUnsafeMutableBufferPointer { idx in
            for o in 0..<outer {
                for i in 0..<inner {
                    var p = src + o * length * inner + i
                    var best = length > 0 ? p.pointee : -Float.infinity, bestIndex = 0
                    for l in 1..<Swift.max(length, 1) {
                        p += inner
                        let v = p.pointee
                        if v > best || (v.isNaN && !best.isNaN) {
                            best = v
                            bestIndex = l
                        }
                    }
                    dst[o * inner + i] = best
                    idx[o * inner + i] = bestIndex
                }
            }
        }
        return (values, indices, outShape)
    }

    /// Maximum along `axis` (differentiable: the gradient goes to the first maximal element).
    public func max(axis: Int, keepDims: Bool = false) -> Tensor {
        let a = normalizedAxis(axis)
        let (values, indices, outShape) = maxWithIndices(axis: a)
        var result = values
        if keepDims {
            var s = shape
            s[a] = 1
            result = result.reshaped(s)
        }
        let original = shape
        let (outer, length, inner) = splitAround(a)
        return result.recordingGradient(inputs: [self]) { grad, _ in
            let g = grad.contiguousData()
            let dx = Tensor.zeros(original)
            let gp = g.basePointer, dp = dx.storage.pointer
            for o in 0..<outer {
                for i in 0..<inner {
                    let k = o * inner + i
                    dp[(o * length + indices[k]) * inner + i] = gp[k]
                }
            }
            _ = outShape
            return [dx]
        }
    }

    /// Largest element (a scalar, not differentiable).
    public func maxValue() -> Float {
        let x = contiguousData()
        return count == 0 ? -.infinity : ik_max(x.basePointer, count)
    }

    /// Index of the largest element along `axis` (first on ties).
    public func argmax(axis: Int = -1) -> IndexTensor {
        let (_, indices, outShape) = maxWithIndices(axis: axis)
        return IndexTensor(shape: outShape, values: indices)
    }

    /// The `k` largest values along the last axis, in descending order (ties: lower index
    /// first), with their indices. Small `k` selects with a bounded heap, O(n log k) per row.
    public func topK(_ k: Int) -> (values: Tensor, indices: IndexTensor) {
        let length = shape[rank - 1]
        precondition(k >= 0 && k <= length, "k = \(k) out of range for a last dimension of \(length)")
        let x = contiguousData()
        let rows = count / Swift.max(length, 1)
        var outShape = shape
        outShape[rank - 1] = k
        let values = Tensor(uninitializedShape: outShape)
        var indices = [Int](repeating: 0, count: rows * k)
        let src = x.basePointer, dst = values.storage.pointer
        for r in 0..<rows {
            let row = src + r * length
            let order = Tensor.largestIndices(UnsafeBufferPointer(start: row, count: length), k: k)
            for j in 0..<k {
                indices[r * k + j] = order[j]
                dst[r * k + j] = row[order[j]]
            }
        }
        return (values, IndexTensor(shape: outShape, values: indices))
    }

    /// Indices of the `k` largest elements of `row`, largest first (ties: lower index first).
    public static func largestIndices(_ row: UnsafeBufferPointer<Float>, k: Int) -> [Int] {
        let n = row.count
        // a ranks before b: larger value, or equal value and lower index.
        func before(_ a: Int, _ b: Int) -> Bool { row[a] > row[b] || (row[a] == row[b] && a < b) }
        if k * 8 >= n { return Array((0..<n).sorted(by: before).prefix(k)) }
        // A heap of the best k so far whose root is the worst of them.
        var heap = [Int](0..<k)
        func siftDown(_ start: Int) {
            var i = start
            while true {
                let l = 2 * i + 1, r = l + 1
                var worst = i
                if l < k && before(heap[worst], heap[l]) { worst = l }
                if r < k && before(heap[worst], heap[r]) { worst = r }
                if worst == i { return }
                heap.swapAt(i, worst)
                i = worst
            }
        }
        for i in stride(from: k / 2 - 1, through: 0, by: -1) { siftDown(i) }
        for i in k..<n where k > 0 && before(i, heap[0]) {
            heap[0] = i
            siftDown(0)
        }
        return heap.sorted(by: before)
    }
}
