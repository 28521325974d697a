/// A GGUF file (llama.cpp's format, versions 2 and 3, little-endian) opened for reading.
///
/// The file is memory-mapped; the header (metadata and tensor infos) is parsed and validated up
/// front, so a truncated or hostile file throws a `GGUFError` naming the field, its byte offset,
/// the bad value and what is allowed — it never traps or reads out of bounds. Tensor data stays
/// in the mapping until asked for: `tensor(_:)` dequantizes to a row-major Float32 `Tensor`,
/// `rawTensor(_:)` hands out the stored blocks.
///
/// Layout: after the magic "GGUF", the version, the tensor count and the key/value count come
/// the key/value pairs, then one info per tensor (name, dimensions fastest-first, ggml type,
/// offset). Tensor data starts at the end of the header rounded up to `alignment`; offsets are
/// relative to that start.
public final class GGUFFile: @unchecked Sendable {
    /// The file's path.
    public let path: String
    /// The GGUF version (2 or 3).
    public let version: Int
    /// Metadata by key.
    public let metadata: [String: GGUFValue]
    /// Metadata keys in file order.
    public let metadataKeys: [String]
    /// Tensor infos in file order.
    public let tensorInfos: [GGUFTensorInfo]
    /// Alignment of the data section and of every tensor offset (`general.alignment`, default 32).
    public let alignment: Int
    /// Absolute byte offset where the data section starts.
    public let dataOffset: Int
    let bytes: FileBytes
    let index: [String: Int]

    /// Validates the GGUF file held by `fileBytes` (`init(path:)`, which maps the file, and
    /// `init(bytes:name:)` come from `FileBytesReader`); throws `GGUFError` when it is not a
    /// well-formed GGUF file.
    public init(fileBytes: FileBytes) throws {
        let path = fileBytes.path
        self.path = path
        bytes = fileBytes
        var cursor = GGUFCursor(base: bytes.pointer.map { UnsafeRawPointer($0) }, count: bytes.count, path: path)
        let header = try GGUFParser.parse(&cursor)
        version = Int(header.version)
        metadata = header.metadata
        metadataKeys = header.keys
        alignment = try GGUFLayout.alignment(header.metadata, path: path)
        dataOffset = (header.end + alignment - 1) / alignment * alignment
        let dataSize = Swift.max(0, bytes.count - dataOffset)
        tensorInfos = try GGUFLayout.validate(header.tensors, alignment: alignment, dataSize: dataSize, path: path)
        index = Dictionary(uniqueKeysWithValues: tensorInfos.enumerated().map { ($0.element.name, $0.offset) })
    }

    /// Tensor names in file order.
    public var names: [String] { tensorInfos.map(\.name) }

    /// True when the file has a tensor called `name`.
    public func contains(_ name: String) -> Bool { index[name] != nil }

    /// The info of tensor `name`; throws `missingTensor` when there is none.
    public func info(_ name: String) throws -> GGUFTensorInfo {
        guard let i = index[name] else { throw GGUFError(path: path, .missingTensor(name: name)) }
        return tensorInfos[i]
    }

    /// Row-major shape of tensor `name` (its `ne` reversed).
    public func shape(_ name: String) throws -> [Int] { try info(name).shape }

    /// The stored bytes of tensor `name`, still in the mapping (for quantized kernels).
    public func rawTensor(_ name: String) throws -> GGUFRawTensor {
        let info = try info(name)
        return GGUFRawTensor(info: info, owner: bytes, base: UnsafeRawPointer(bytes.pointer!) + dataOffset + info.offset)
    }

    /// Tensor `name` dequantized to Float32, row-major with shape `shape(name)`. Aligned F32 data
    /// is shared with the mapping, not copied. Throws `cannotDequantize` for types outside
    /// `GGMLType.dequantizable`.
    public func tensor(_ name: String) throws -> Tensor {
        do {
            return try rawTensor(name).dequantized()
        } catch let error as GGUFError where error.path == nil {
            throw GGUFError(path: path, error.problem)
        }
    }
}

/// One tensor's stored bytes inside a mapped GGUF file: `info.rowCount` rows of
/// `info.rowByteCount` bytes, each a whole number of `info.type` blocks. Keeps the mapping alive.
public struct GGUFRawTensor: @unchecked Sendable {
    /// The tensor's info.
    public let info: GGUFTensorInfo
    let owner: FileBytes
    let base: UnsafeRawPointer

    /// Runs `body` over the tensor's `info.byteCount` bytes (valid only inside `body`).
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withExtendedLifetime(owner) { try body(UnsafeRawBufferPointer(start: base, count: info.byteCount)) }
    }

    /// A copy of the bytes.
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    /// The data as a row-major Float32 tensor of shape `info.shape`. Aligned F32 data is shared
    /// with the mapping, not copied.
    public func dequantized() throws -> Tensor {
        guard info.type.canDequantize else { throw GGUFError(path: nil, .cannotDequantize(tensor: info.name, type: info.type)) }
        let shape = info.shape
        if info.type == .f32 && Int(bitPattern: base) % 4 == 0 {
            let pointer = UnsafeMutableRawPointer(mutating: base).assumingMemoryBound(to: Float.self)
            let storage = TensorStorage(borrowing: pointer, count: info.elementCount, owner: owner)
            return Tensor(storage: storage, shape: shape, strides: Tensor.contiguousStrides(for: shape))
        }
        let out = Tensor(uninitializedShape: shape)
        try withUnsafeBytes { raw in
            try info.type.dequantize(raw, into: UnsafeMutableBufferPointer(start: out.storage.pointer, count: info.elementCount))
        }
        return out
    }
}
