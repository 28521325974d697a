import Tensors

/// A rows × columns Q8_0 matrix (columns a multiple of 32) of random quants, every block scaled by
/// `scale`, for tests of weights kept quantized. `edit` may change the encoded blocks first.
public func randomQ8_0Matrix(rows: Int, columns: Int, seed: UInt64, scale: Float16 = 0.01,
                             edit: (inout [UInt8]) -> Void = { _ in }) throws -> QuantizedMatrix {
    var g = RandomGenerator(seed: seed)
    let blockBytes = GGMLType.q8_0.blockBytes, blocks = rows * columns / GGMLType.q8_0.blockElements
    var bytes = (0..<(blocks * blockBytes)).map { _ in UInt8(truncatingIfNeeded: g.next()) }
    for b in 0..<blocks {
        bytes[b * blockBytes] = UInt8(scale.bitPattern & 0xff)
        bytes[b * blockBytes + 1] = UInt8(scale.bitPattern >> 8)
    }
    edit(&bytes)
    return try bytes.withUnsafeBytes { try QuantizedMatrix(type: .q8_0, rows: rows, columns: columns, bytes: $0) }
}
