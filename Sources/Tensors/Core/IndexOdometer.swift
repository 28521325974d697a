/// Walks every multi-index of a shape in row-major order (the last dimension fastest), as the
/// digits of an odometer turn. Used by kernels that loop over outer dimensions of strided data.
@usableFromInline
struct IndexOdometer {
    let shape: [Int]
    /// The current index.
    private(set) var index: [Int]

    init(shape: [Int]) {
        self.shape = shape
        index = [Int](repeating: 0, count: shape.count)
    }

    /// Starts at the `linear`-th index in row-major order.
    init(shape: [Int], startingAt linear: Int) {
        self.init(shape: shape)
        var rest = linear
        for d in stride(from: shape.count - 1, through: 0, by: -1) where shape[d] > 0 {
            index[d] = rest % shape[d]
            rest /= shape[d]
        }
    }

    /// Σ index[d] · strides[d].
    func offset(_ strides: [Int]) -> Int {
        var total = 0
        for d in 0..<index.count { total += index[d] * strides[d] }
        return total
    }

    /// Moves to the next index (wrapping to all zeros after the last).
    mutating func advance() {
        var d = index.count - 1
        while d >= 0 {
            index[d] += 1
            if index[d] < shape[d] { return }
            index[d] = 0
            d -= 1
        }
    }
}
