/// Reshaping, transposing, slicing, joining and splitting. Views where the layout allows.
extension Tensor {
    /// The same elements with a new shape (one dimension may be −1, inferred). A view when the
    /// tensor is contiguous, a copy otherwise.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var target = newShape
        if let inferred = target.firstIndex(of: -1) {
            let known = target.enumerated().filter { $0.offset != inferred }.map(\.element).reduce(1, *)
            precondition(known > 0 && count % known == 0, "cannot infer a dimension reshaping \(shape) to \(newShape)")
            target[inferred] = count / known
        }
        precondition(target.reduce(1, *) == count, "cannot reshape \(shape) (\(count) elements) to \(newShape)")
        if target == shape { return self }
        var view = isContiguous ? detached() : contiguousData()
        view.shape = target
        view.strides = Tensor.contiguousStrides(for: target)
        let original = shape
        return view.recordingGradient(inputs: [self]) { grad, _ in [grad.reshaped(original)] }
    }

    /// Collapses dimensions `start...end` into one.
    public func flattened(from start: Int = 0, to end: Int = -1) -> Tensor {
        let s = normalizedAxis(start), e = normalizedAxis(end)
        let middle = shape[s...e].reduce(1, *)
        return reshaped(Array(shape[..<s]) + [middle] + Array(shape[(e + 1)...]))
    }

    /// A view with dimensions reordered: result dimension i is input dimension `order[i]`.
    public func permuted(_ order: [Int]) -> Tensor {
        precondition(order.count == rank && Set(order) == Set(0..<rank), "invalid permutation \(order) for rank \(rank)")
        var view = detached()
        view.shape = order.map { shape[$0] }
        view.strides = order.map { strides[$0] }
        var inverse = [Int](repeating: 0, count: rank)
        for (i, o) in order.enumerated() { inverse[o] = i }
        return view.recordingGradient(inputs: [self]) { grad, _ in [grad.permuted(inverse)] }
    }

    /// A view with two dimensions swapped (the last two by default).
    public func transposed(_ a: Int = -2, _ b: Int = -1) -> Tensor {
        let x = normalizedAxis(a), y = normalizedAxis(b)
        var order = Array(0..<rank)
        order.swapAt(x, y)
        return permuted(order)
    }

    /// The matrix transpose of a 2-D tensor (a view).
    public var T: Tensor { transposed() }

    /// A view with a new dimension of size 1 at `axis`.
    public func unsqueezed(_ axis: Int) -> Tensor {
        let a = axis < 0 ? axis + rank + 1 : axis
        precondition(a >= 0 && a <= rank, "axis \(axis) out of range")
        var s = shape, st = strides
        s.insert(1, at: a)
        st.insert(a < rank ? strides[a] * shape[a] : 1, at: a)
        return sizeOneView(shape: s, strides: st)
    }

    /// Removes a dimension of size 1 (all of them when `axis` is nil). Always a view.
    public func squeezed(_ axis: Int? = nil) -> Tensor {
        let removed: [Int]
        if let axis {
            let a = normalizedAxis(axis)
            precondition(shape[a] == 1, "cannot squeeze dimension \(axis) of size \(shape[a])")
            removed = [a]
        } else {
            removed = shape.indices.filter { shape[$0] == 1 }
        }
        let kept = shape.indices.filter { !removed.contains($0) }
        return sizeOneView(shape: kept.map { shape[$0] }, strides: kept.map { strides[$0] })
    }

    /// This tensor's elements under a shape that differs only by dimensions of size 1.
    private func sizeOneView(shape newShape: [Int], strides newStrides: [Int]) -> Tensor {
        if newShape == shape { return self }
        var view = detached()
        view.shape = newShape
        view.strides = newStrides
        let original = shape
        return view.recordingGradient(inputs: [self]) { grad, _ in [grad.reshaped(original)] }
    }

    /// A view of `length` elements along `axis` starting at `start`.
    public func narrowed(_ axis: Int, start: Int, length: Int) -> Tensor {
        let a = normalizedAxis(axis)
        precondition(start >= 0 && length >= 0 && start + length <= shape[a],
                     "slice \(start)..<\(start + length) out of range for dimension \(a) of size \(shape[a])")
        var view = detached()
        view.shape[a] = length
        view.offset += start * strides[a]
        let original = shape
        return view.recordingGradient(inputs: [self]) { grad, _ in
            [Tensor.padGradient(grad, into: original, axis: a, start: start)]
        }
    }

    /// Elements `range` along `axis` (a view).
    public func slice(_ axis: Int, _ range: Range<Int>) -> Tensor {
        narrowed(axis, start: range.lowerBound, length: range.count)
    }

    /// Places `grad` at `start` along `axis` in zeros of shape `shape`.
    static func padGradient(_ grad: Tensor, into shape: [Int], axis: Int, start: Int) -> Tensor {
        var out = Tensor.zeros(shape)
        out.writeSlice(grad, axis: axis, start: start)
        return out
    }

    /// Overwrites the elements `start..<start+part.shape[axis]` along `axis` with `part`
    /// (not recorded by autodiff; used by kernels and backward functions).
    mutating func writeSlice(_ part: Tensor, axis: Int, start: Int) {
        let p = part.contiguousData()
        let outer = shape[..<axis].reduce(1, *)
        let innerOut = shape[(axis + 1)...].reduce(1, *)
        let length = p.shape[axis]
        let block = length * innerOut
        let rowOut = shape[axis] * innerOut
        withUnsafeMutableElements { buffer in
            let dst = buffer.baseAddress!, src = p.basePointer
            for o in 0..<outer {
                (dst + o * rowOut + start * innerOut).update(from: src + o * block, count: block)
            }
        }
    }

    /// Joins tensors along an existing axis.
    public static func concatenate(_ tensors: [Tensor], axis: Int) -> Tensor {
        precondition(!tensors.isEmpty, "concatenate needs at least one tensor")
        let first = tensors[0]
        let a = first.normalizedAxis(axis)
        for t in tensors {
            precondition(t.rank == first.rank && (0..<first.rank).allSatisfy { $0 == a || t.shape[$0] == first.shape[$0] },
                         "concatenate: shape \(t.shape) does not match \(first.shape) outside axis \(a)")
        }
        var outShape = first.shape
        outShape[a] = tensors.reduce(0) { $0 + $1.shape[a] }
        var out = Tensor(uninitializedShape: outShape)
        var start = 0
        for t in tensors {
            out.writeSlice(t, axis: a, start: start)
            start += t.shape[a]
        }
        let sizes = tensors.map { $0.shape[a] }
        return out.recordingGradient(inputs: tensors) { grad, needs in
            var grads: [Tensor?] = []
            var s = 0
            for (i, size) in sizes.enumerated() {
                grads.append(needs[i] ? grad.narrowed(a, start: s, length: size).contiguous() : nil)
                s += size
            }
            return grads
        }
    }

    /// Joins tensors of equal shape along a new axis.
    public static func stack(_ tensors: [Tensor], axis: Int = 0) -> Tensor {
        precondition(!tensors.isEmpty, "stack needs at least one tensor")
        let a = axis < 0 ? axis + tensors[0].rank + 1 : axis
        return concatenate(tensors.map { $0.unsqueezed(a) }, axis: a)
    }

    /// Splits along `axis` into pieces of the given sizes (views).
    public func split(sizes: [Int], axis: Int) -> [Tensor] {
        let a = normalizedAxis(axis)
        precondition(sizes.reduce(0, +) == shape[a], "split sizes \(sizes) do not add up to \(shape[a])")
        var start = 0
        return sizes.map { size in
            defer { start += size }
            return narrowed(a, start: start, length: size)
        }
    }

    /// Splits along `axis` into `parts` equal pieces (views).
    public func chunked(_ parts: Int, axis: Int) -> [Tensor] {
        let a = normalizedAxis(axis)
        precondition(shape[a] % parts == 0, "dimension of size \(shape[a]) does not split into \(parts)")
        return split(sizes: Array(repeating: shape[a] / parts, count: parts), axis: a)
    }
}
