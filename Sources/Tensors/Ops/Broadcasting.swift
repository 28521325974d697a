/// Shape rules for elementwise operations between tensors of different shapes (NumPy rules:
/// align trailing dimensions; a dimension of size 1 stretches).
public enum Broadcasting {
    /// The broadcast shape of `a` and `b`, or nil when they are incompatible.
    public static func shape(_ a: [Int], _ b: [Int]) -> [Int]? {
        let rank = Swift.max(a.count, b.count)
        var out = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            if da == db || db == 1 {
                out[i] = da
            } else if da == 1 {
                out[i] = db
            } else {
                return nil
            }
        }
        return out
    }

    /// Strides that read a tensor of `shape` laid out with `strides` as if it had the
    /// (trailing-aligned) `target` shape: leading and stretched dimensions get stride 0.
    static func strides(shape: [Int], strides: [Int], to target: [Int]) -> [Int] {
        let pad = target.count - shape.count
        return (0..<target.count).map { i in
            i < pad ? 0 : (shape[i - pad] == 1 && target[i] != 1 ? 0 : strides[i - pad])
        }
    }
}

extension Tensor {
    /// A view of this tensor stretched to `target` (no copy; broadcast dimensions get stride 0).
    public func broadcast(to target: [Int]) -> Tensor {
        if target == shape { return self }
        guard let result = Broadcasting.shape(shape, target), result == target else {
            preconditionFailure("cannot broadcast shape \(shape) to \(target)")
        }
        var view = self
        view.shape = target
        view.strides = Broadcasting.strides(shape: shape, strides: strides, to: target)
        view.gradNode = nil
        let original = shape
        return view.recordingGradient(inputs: [self]) { grad, _ in [grad.summed(toShape: original)] }
    }

    /// Sums a broadcast gradient back down to `target` (the shape an operand had).
    public func summed(toShape target: [Int]) -> Tensor {
        if shape == target { return self }
        let pad = rank - target.count
        var axes: [Int] = Array(0..<pad)
        for i in 0..<target.count where target[i] == 1 && shape[i + pad] != 1 {
            axes.append(i + pad)
        }
        var result = axes.isEmpty ? self : sum(axes: axes, keepDims: true)
        if pad > 0 || result.shape != target { result = result.reshaped(target) }
        return result
    }
}
