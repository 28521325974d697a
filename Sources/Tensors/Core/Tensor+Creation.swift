/// Creating tensors: constants, ranges and seeded random values.
extension Tensor {
    /// A tensor filled with `value`.
    public static func full(_ shape: [Int], _ value: Float) -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        t.storage.pointer.update(repeating: value, count: Swift.max(t.count, 0))
        return t
    }

    /// A tensor of zeros.
    public static func zeros(_ shape: [Int]) -> Tensor { full(shape, 0) }

    /// Zeros of `shape` that occupy one element of memory: every stride is 0 (a broadcast
    /// view). Reads see zeros; writing (`withUnsafeMutableElements`) copies to full size first.
    /// Placeholders for weights that a checkpoint replaces cost nothing this way.
    public static func zerosView(_ shape: [Int]) -> Tensor {
        let storage = TensorStorage(uninitializedCount: 1)
        storage.pointer[0] = 0
        return Tensor(storage: storage, shape: shape, strides: Array(repeating: 0, count: shape.count))
    }

    /// A tensor of ones.
    public static func ones(_ shape: [Int]) -> Tensor { full(shape, 1) }

    /// Zeros with the shape of `other`.
    public static func zeros(like other: Tensor) -> Tensor { full(other.shape, 0) }

    /// Ones with the shape of `other`.
    public static func ones(like other: Tensor) -> Tensor { full(other.shape, 1) }

    /// 0, 1, …, n − 1 as Float.
    public static func arange(_ n: Int) -> Tensor {
        Tensor(shape: [n], values: (0..<n).map { Float($0) })
    }

    /// The n × n identity matrix.
    public static func eye(_ n: Int) -> Tensor {
        let t = zeros([n, n])
        for i in 0..<n { t.storage.pointer[i * n + i] = 1 }
        return t
    }

    /// Samples from N(mean, std²), reproducibly from `generator`.
    public static func randomNormal(_ shape: [Int], mean: Float = 0, std: Float = 1,
                                    using generator: inout RandomGenerator) -> Tensor {
        var t = Tensor(uninitializedShape: shape)
        let p = t.storage.pointer
        for i in 0..<t.count { p[i] = mean + std * generator.nextNormal() }
        t.gradNode = nil
        return t
    }

    /// Samples uniformly from [low, high), reproducibly from `generator`.
    public static func randomUniform(_ shape: [Int], low: Float = 0, high: Float = 1,
                                     using generator: inout RandomGenerator) -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        let p = t.storage.pointer
        let width = high - low
        for i in 0..<t.count { p[i] = low + width * generator.nextUniform() }
        return t
    }

    /// Ones with probability `probability`, zeros otherwise, reproducibly from `generator`.
    public static func randomBernoulli(_ shape: [Int], probability: Float,
                                       using generator: inout RandomGenerator) -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        let p = t.storage.pointer
        for i in 0..<t.count { p[i] = generator.nextUniform() < probability ? 1 : 0 }
        return t
    }

    /// Samples from N(mean, std²) with a fresh generator seeded by `seed`.
    public static func randomNormal(_ shape: [Int], mean: Float = 0, std: Float = 1, seed: UInt64) -> Tensor {
        var g = RandomGenerator(seed: seed)
        return randomNormal(shape, mean: mean, std: std, using: &g)
    }

    /// Samples uniformly from [low, high) with a fresh generator seeded by `seed`.
    public static func randomUniform(_ shape: [Int], low: Float = 0, high: Float = 1, seed: UInt64) -> Tensor {
        var g = RandomGenerator(seed: seed)
        return randomUniform(shape, low: low, high: high, using: &g)
    }
}
