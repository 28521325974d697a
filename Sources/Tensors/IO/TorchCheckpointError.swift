/// A malformed or unsupported PyTorch checkpoint. Every case names the problem and, where it
/// applies, the entry, field, offset or value involved.
public enum TorchCheckpointError: Error, CustomStringConvertible, Equatable {
    /// The zip archive ends early or a record runs past the end of the file.
    case truncatedZip(path: String, reason: String)
    /// A zip record has a bad signature or impossible field.
    case invalidZip(path: String, reason: String, offset: Int)
    /// The archive needs zip64 extensions, which this reader does not support.
    case zip64Unsupported(path: String, field: String)
    /// An entry is compressed (torch.save stores entries uncompressed).
    case compressedEntry(name: String, method: Int)
    /// The archive has no entry with this name.
    case missingEntry(name: String)
    /// The pickle uses an opcode outside the supported subset.
    case unknownOpcode(opcode: UInt8, offset: Int)
    /// The pickle names a global other than the allowed tensor and container types.
    case forbiddenGlobal(module: String, name: String, offset: Int)
    /// The pickle is structurally wrong (stack underflow, wrong argument types, ...).
    case invalidPickle(reason: String, offset: Int)
    /// The pickle exceeds a stack, memo or nesting bound.
    case limitExceeded(what: String, limit: Int, offset: Int)
    /// A persistent id names a storage type this reader does not know.
    case unsupportedStorage(type: String)
    /// A storage entry's byte size does not match its dtype times its element count.
    case storageSizeMismatch(key: String, expectedBytes: Int, actualBytes: Int)
    /// A tensor's size and stride are inconsistent or negative.
    case invalidTensor(reason: String)
    /// A tensor's view reaches past the end of its storage.
    case tensorOutOfBounds(key: String, offset: Int, extent: Int, storageElements: Int)

    public var description: String {
        switch self {
        case .truncatedZip(let path, let reason): return "\(path): truncated zip archive (\(reason))"
        case .invalidZip(let path, let reason, let offset): return "\(path): invalid zip at offset \(offset): \(reason)"
        case .zip64Unsupported(let path, let field): return "\(path): zip64 archives are not supported (field \(field) is saturated)"
        case .compressedEntry(let name, let method): return "entry '\(name)' uses compression method \(method); only stored (0) is supported"
        case .missingEntry(let name): return "no archive entry named '\(name)'"
        case .unknownOpcode(let op, let offset): return "unsupported pickle opcode 0x\(String(op, radix: 16)) at offset \(offset)"
        case .forbiddenGlobal(let module, let name, let offset): return "pickle global '\(module).\(name)' at offset \(offset) is not allowed"
        case .invalidPickle(let reason, let offset): return "invalid pickle at offset \(offset): \(reason)"
        case .limitExceeded(let what, let limit, let offset): return "pickle \(what) exceeds the limit of \(limit) at offset \(offset)"
        case .unsupportedStorage(let type): return "storage type '\(type)' is not supported"
        case .storageSizeMismatch(let key, let expected, let actual):
            return "storage '\(key)': dtype and element count need \(expected) bytes but the entry holds \(actual)"
        case .invalidTensor(let reason): return "invalid tensor: \(reason)"
        case .tensorOutOfBounds(let key, let offset, let extent, let n):
            return "tensor view at offset \(offset) spanning \(extent) elements exceeds storage '\(key)' of \(n) elements"
        }
    }
}
