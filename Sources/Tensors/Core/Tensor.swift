import Foundation

/// An n-dimensional array of Float32 values, row-major, with value semantics.
///
/// Copies share memory until one of them is written (copy-on-write). Reshapes of contiguous
/// tensors, transposes, permutations, narrowing slices and broadcasts are views: they change
/// `shape`/`strides`/`offset` and share storage. Operations read any layout; they produce
/// contiguous results.
///
/// A tensor takes part in automatic differentiation when it requires a gradient
/// (`requiresGrad`) or was computed from one that does while gradients are enabled; see
/// `backward()` and `Tensor.withoutGradients(_:)`.
public struct Tensor: @unchecked Sendable {
    /// Size of each dimension.
    public internal(set) var shape: [Int]
    /// Elements to skip to move one step along each dimension (0 for broadcast dimensions).
    public internal(set) var strides: [Int]
    /// Index of the first element in `storage`.
    public internal(set) var offset: Int
    /// The memory this tensor reads.
    public internal(set) var storage: TensorStorage
    /// The autograd record that produced this tensor, or the leaf node of a parameter.
    var gradNode: GradNode?

    /// Wraps storage with an explicit layout (no copy).
    init(storage: TensorStorage, shape: [Int], strides: [Int], offset: Int = 0) {
        self.storage = storage
        self.shape = shape
        self.strides = strides
        self.offset = offset
        self.gradNode = nil
    }

    /// A contiguous tensor over fresh, uninitialised storage. Callers must write every element.
    public init(uninitializedShape shape: [Int]) {
        var count = 1
        for d in shape { count &*= d }
        self.init(storage: TensorStorage(uninitializedCount: count), shape: shape,
                  strides: Tensor.contiguousStrides(for: shape))
    }

    /// A contiguous tensor holding `values` in row-major order.
    public init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count,
                     "shape \(shape) needs \(shape.reduce(1, *)) values, got \(values.count)")
        self.init(uninitializedShape: shape)
        values.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { storage.pointer.update(from: base, count: values.count) }
        }
    }

    /// A 1-D tensor.
    public init(_ values: [Float]) {
        self.init(shape: [values.count], values: values)
    }

    /// A 2-D tensor from rows of equal length.
    public init(_ rows: [[Float]]) {
        let cols = rows.first?.count ?? 0
        precondition(rows.allSatisfy { $0.count == cols }, "rows must have equal length")
        self.init(shape: [rows.count, cols], values: rows.flatMap { $0 })
    }

    /// A 0-dimensional tensor holding one value.
    public init(scalar: Float) {
        self.init(shape: [], values: [scalar])
    }

    /// Row-major strides for `shape`.
    public static func contiguousStrides(for shape: [Int]) -> [Int] {
        let rank = shape.count
        return [Int](unsafeUninitializedCapacity: rank) { buffer, initialized in
            var running = 1
            var axis = rank - 1
            while axis >= 0 {
                buffer[axis] = running
                running &*= shape[axis]
                axis -= 1
            }
            initialized = rank
        }
    }

    /// Number of dimensions.
    public var rank: Int { shape.count }

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }

    /// True when the elements are laid out densely in row-major order starting at `offset`.
    public var isContiguous: Bool {
        var expected = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) where shape[axis] != 1 {
            if strides[axis] != expected { return false }
            expected *= shape[axis]
        }
        return true
    }

    /// Normalises a possibly negative axis; traps on an out-of-range axis (programmer error).
    @inlinable
    public func normalizedAxis(_ axis: Int) -> Int {
        let a = axis < 0 ? axis + rank : axis
        precondition(a >= 0 && a < Swift.max(rank, 1), "axis \(axis) out of range for rank \(rank)")
        return a
    }

    /// A contiguous copy with its own storage (never shared, no autodiff history).
    public func copy() -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        copyElements(into: out.storage.pointer)
        return out
    }

    /// A contiguous tensor with the same values (self when already contiguous).
    public func contiguous() -> Tensor {
        if isContiguous { return self }
        return copy().recordingGradient(inputs: [self]) { grad, _ in [grad] }
    }

    /// Copies the elements in row-major order into `destination` (count elements).
    func copyElements(into destination: UnsafeMutablePointer<Float>) {
        let n = count
        if n == 0 { return }
        let src = storage.pointer + offset
        if isContiguous {
            destination.update(from: src, count: n)
            return
        }
        // Walk the index space with the innermost dimension as the tight loop.
        let r = rank
        let innerSize = shape[r - 1]
        let innerStride = strides[r - 1]
        var odometer = IndexOdometer(shape: Array(shape.dropLast()))
        let outerStrides = Array(strides.dropLast())
        var written = 0
        while written < n {
            let row = src + odometer.offset(outerStrides)
            let out = destination + written
            if innerStride == 1 {
                out.update(from: row, count: innerSize)
            } else if innerStride == 0 {
                out.update(repeating: row.pointee, count: innerSize)
            } else {
                for j in 0..<innerSize { out[j] = row[j * innerStride] }
            }
            written += innerSize
            odometer.advance()
        }
    }

    /// The elements in row-major order.
    public var scalars: [Float] {
        let n = count
        return [Float](unsafeUninitializedCapacity: n) { buffer, initialized in
            if let base = buffer.baseAddress { copyElements(into: base) }
            initialized = n
        }
    }

    /// The single value of a one-element tensor.
    public var item: Float {
        precondition(count == 1, "item needs exactly one element, tensor has shape \(shape)")
        return storage.pointer[offset]
    }

    /// Reads the element at a full index (slow path for tests and small tensors).
    public subscript(index: Int...) -> Float {
        precondition(index.count == rank, "index \(index) does not match rank \(rank)")
        var position = offset
        for (d, i) in index.enumerated() {
            precondition(i >= 0 && i < shape[d], "index \(i) out of range for dimension \(d) of size \(shape[d])")
            position += i * strides[d]
        }
        return storage.pointer[position]
    }

    /// True when the values are read in place from a memory-mapped file (a Float32 tensor of a
    /// safetensors or GGUF file) instead of living in a buffer of their own; the first in-place
    /// write copies them out (`withUnsafeMutableElements`).
    public var borrowsMemory: Bool { storage.isBorrowed }

    /// Gives mutable access to the contiguous elements, copying first if the storage is shared,
    /// borrowed from a mapped file or the layout is not contiguous. The autodiff node is kept (the
    /// optimizer's in-place update relies on it); do not call it on a tensor whose history matters.
    public mutating func withUnsafeMutableElements<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        if !isContiguous || !isKnownUniquelyReferenced(&storage) || storage.isBorrowed || offset != 0 || storage.count != count {
            var fresh = Tensor(uninitializedShape: shape)
            copyElements(into: fresh.storage.pointer)
            fresh.gradNode = gradNode
            self = fresh
        }
        return try body(UnsafeMutableBufferPointer(start: storage.pointer, count: count))
    }

    /// Gives read access to the elements in row-major order (copies only when not contiguous).
    public func withUnsafeElements<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        let c = contiguousData()
        return try body(UnsafeBufferPointer(start: c.storage.pointer + c.offset, count: c.count))
    }

    /// A contiguous version without autograd history (used by kernels).
    @usableFromInline
    func contiguousData() -> Tensor {
        isContiguous ? detached() : copy()
    }

    /// Pointer to the first element; valid only while `self` (or its storage) is alive.
    @inlinable
    var basePointer: UnsafeMutablePointer<Float> { storage.pointer + offset }
}

extension Tensor: CustomStringConvertible {
    /// Shape and (for small tensors) values.
    public var description: String {
        let values = scalars
        let shown = values.prefix(16).map { String(format: "%.5g", Double($0)) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(shown)\(values.count > 16 ? ", …" : "")])"
    }
}
