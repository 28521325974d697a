import CKernels

/// A matrix W (rows × columns) kept in its ggml blocks (Q8_0, Q4_0, Q4_1, Q4_K and the other
/// block types of `supportedTypes`): each row is `columns / type.blockElements` consecutive
/// blocks, rows one after another, exactly as GGUF stores a tensor of `ne = [columns, rows]`.
///
/// The bytes are owned (copied out of the file, 64-byte aligned), so a model keeps no file
/// mapping alive. Kernels decode blocks on the fly with the arithmetic of `ik_dequantize`, so
/// `dequantized()` equals `GGUFFile.tensor(_:)` bit for bit and products differ from the
/// dequantized product only in float32 summation order. Immutable: a quantized weight is never
/// trained.
public final class QuantizedMatrix: @unchecked Sendable {
    /// The block type.
    public let type: GGMLType
    /// Number of rows (output features of a linear layer, entries of an embedding table).
    public let rows: Int
    /// Number of columns (input features; a multiple of `type.blockElements`).
    public let columns: Int
    /// Bytes of one row.
    public let rowByteCount: Int
    /// The blocks, `rows · rowByteCount` bytes.
    let base: UnsafeMutableRawPointer

    /// Block types with quantized kernels.
    public static let supportedTypes: [GGMLType] = [.q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K]

    /// A copy of `bytes` (rows after rows of blocks) as a rows × columns matrix of `type`.
    /// `name` only labels errors. Throws `QuantizedWeightError` for an unsupported type, a row
    /// that is not whole blocks, or a byte count that does not match.
    public init(type: GGMLType, rows: Int, columns: Int, bytes: UnsafeRawBufferPointer, name: String = "matrix") throws {
        guard QuantizedMatrix.supportedTypes.contains(type) else { throw QuantizedWeightError.unsupportedType(tensor: name, type: type) }
        guard rows >= 0, columns >= 0, columns % type.blockElements == 0 else {
            throw QuantizedWeightError.partialBlock(tensor: name, columns: columns, blockElements: type.blockElements)
        }
        let rowBytes = columns / type.blockElements * type.blockBytes
        let (total, overflow) = rows.multipliedReportingOverflow(by: rowBytes)
        guard !overflow, total == bytes.count else {
            throw QuantizedWeightError.byteCountMismatch(tensor: name, expected: overflow ? -1 : total, actual: bytes.count)
        }
        self.type = type
        self.rows = rows
        self.columns = columns
        self.rowByteCount = rowBytes
        base = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(total, 1), alignment: 64)
        if let source = bytes.baseAddress, total > 0 { base.copyMemory(from: source, byteCount: total) }
    }

    /// The matrix a GGUF tensor of shape (rows, columns) stores (its blocks copied).
    public convenience init(_ raw: GGUFRawTensor) throws {
        let info = raw.info
        guard info.ne.count == 2 else { throw QuantizedWeightError.notAMatrix(tensor: info.name, shape: info.shape) }
        // The mapping stays alive while `raw` does; the designated initializer copies the bytes.
        try self.init(type: info.type, rows: info.ne[1], columns: info.ne[0],
                      bytes: UnsafeRawBufferPointer(start: raw.base, count: info.byteCount), name: info.name)
        withExtendedLifetime(raw) {}
    }

    deinit { base.deallocate() }

    /// (rows, columns).
    public var shape: [Int] { [rows, columns] }

    /// Bytes held.
    public var byteCount: Int { rows * rowByteCount }

    /// Blocks per row.
    var blocksPerRow: Int { columns / type.blockElements }

    /// The first byte of row `r`.
    func row(_ r: Int) -> UnsafePointer<UInt8> {
        UnsafePointer(base.assumingMemoryBound(to: UInt8.self) + r * rowByteCount)
    }

    /// The matrix whose row i is row `source[i]` of this one (a row permutation, such as
    /// llama.cpp's q/k reordering undone on load). `source` must be a permutation of 0..<rows.
    public func permutingRows(_ source: [Int]) -> QuantizedMatrix {
        precondition(source.count == rows && Set(source).count == rows && source.allSatisfy { (0..<rows).contains($0) },
                     "permutingRows needs a permutation of 0..<\(rows)")
        var bytes = [UInt8](repeating: 0, count: byteCount)
        bytes.withUnsafeMutableBytes { out in
            for (i, r) in source.enumerated() {
                (out.baseAddress! + i * rowByteCount).copyMemory(from: UnsafeRawPointer(row(r)), byteCount: rowByteCount)
            }
        }
        return bytes.withUnsafeBytes { try! QuantizedMatrix(type: type, rows: rows, columns: columns, bytes: $0) }
    }

    /// Decodes rows `range` into `destination` (range.count · columns floats, row-major), split
    /// across cores when large; values equal `ik_dequantize`'s.
    public func dequantizeRows(_ range: Range<Int>, into destination: UnsafeMutablePointer<Float>) {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows, "rows \(range) outside 0..<\(rows)")
        let (id, cols, perRow) = (type.rawValue, columns, blocksPerRow)
        Parallel.forRanges(range.count, grain: Swift.max(1, 65_536 / Swift.max(cols, 1)), alignment: 1) { part in
            _ = ik_dequantize(id, self.row(range.lowerBound + part.lowerBound), destination + part.lowerBound * cols, part.count * perRow)
        }
    }

    /// The whole matrix as a Float32 tensor (rows, columns): a fresh allocation of rows · columns
    /// floats, for code that needs the weights themselves rather than products with them.
    public func dequantized() -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        if rows > 0 && columns > 0 { dequantizeRows(0..<rows, into: out.storage.pointer) }
        return out
    }
}
