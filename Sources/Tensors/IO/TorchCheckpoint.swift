import CKernels

/// A PyTorch checkpoint (`torch.save` output: a zip archive holding `data.pkl` and one entry per
/// storage under `data/`), read without executing any code. The pickle may contain only dicts
/// (including `collections.OrderedDict`), lists, tuples, None, bools, ints, floats, strings and
/// tensors; any other global is refused with `TorchCheckpointError.forbiddenGlobal`.
public final class TorchCheckpoint: @unchecked Sendable {
    /// The file's path.
    public let path: String
    /// The decoded top-level object.
    public private(set) var value: TorchValue = .none
    let file: FileBytes

    /// The deepest container nesting accepted.
    public static let maximumDepth = 256
    /// The most values the decoded tree may hold (memo sharing could otherwise multiply them).
    public static let maximumNodes = 1 << 24
    /// The most elements a tensor may have beyond its storage's size (stride-0 expanded views).
    public static let maximumExpandedElements = 1 << 28

    /// Every tensor, keyed by its dotted path through nested dicts and lists (state_dict style).
    public var tensors: [String: Tensor] { value.flattenedTensors() }

    /// Validates and decodes the checkpoint held by `fileBytes` (`init(path:)` and
    /// `init(bytes:name:)` come from `FileBytesReader`); throws `TorchCheckpointError` naming
    /// the entry, global or limit.
    public init(fileBytes: FileBytes) throws {
        let path = fileBytes.path
        self.path = path
        file = fileBytes
        let bytes = UnsafeRawBufferPointer(start: file.pointer, count: file.count)
        let archive = try TorchZipArchive(path: path, bytes: bytes)
        guard let pickleName = archive.names.first(where: { $0 == "data.pkl" || $0.hasSuffix("/data.pkl") }) else {
            throw TorchCheckpointError.missingEntry(name: "<archive>/data.pkl")
        }
        let prefix = String(pickleName.dropLast("data.pkl".count))
        var machine = TorchPickleMachine(bytes: try archive.data(pickleName)) { storage, offset, size, stride in
            let data = try archive.data(prefix + "data/" + storage.key)
            return try TorchCheckpoint.rebuild(storage: storage, data: data, offset: offset, size: size, stride: stride)
        }
        defer { machine.breakCycles() }
        var budget = TorchCheckpoint.maximumNodes
        value = try TorchCheckpoint.convert(try machine.run(), depth: 0, budget: &budget)
    }

    /// Turns the VM's objects into values, bounding nesting (which also stops memo cycles).
    static func convert(_ o: TorchPickleObject, depth: Int, budget: inout Int) throws -> TorchValue {
        guard depth < maximumDepth else {
            throw TorchCheckpointError.limitExceeded(what: "nesting depth", limit: maximumDepth, offset: -1)
        }
        budget -= 1
        guard budget >= 0 else { throw TorchCheckpointError.limitExceeded(what: "value count", limit: maximumNodes, offset: -1) }
        switch o {
        case .none: return .none
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(i)
        case .double(let d): return .double(d)
        case .string(let s): return .string(s)
        case .tensor(let t): return .tensor(t)
        case .list(let l): return .list(try l.items.map { try convert($0, depth: depth + 1, budget: &budget) })
        case .tuple(let items): return .tuple(try items.map { try convert($0, depth: depth + 1, budget: &budget) })
        case .dict(let d):
            return .dict(try d.pairs.map {
                TorchDictEntry(key: try convert($0.0, depth: depth + 1, budget: &budget), value: try convert($0.1, depth: depth + 1, budget: &budget))
            })
        case .mark, .global, .storage:
            throw TorchCheckpointError.invalidPickle(reason: "result holds a \(o.kindName), not a value", offset: -1)
        }
    }

    /// Checks a view (offset, size, stride) against its storage and gathers it as Float32.
    static func rebuild(storage: TorchStorageRef, data: UnsafeRawBufferPointer, offset: Int,
                        size: [Int], stride: [Int]) throws -> TorchTensor {
        let (expected, overflow) = storage.numel.multipliedReportingOverflow(by: storage.dtype.size)
        guard !overflow, expected == data.count else {
            throw TorchCheckpointError.storageSizeMismatch(key: storage.key, expectedBytes: overflow ? Int.max : expected, actualBytes: data.count)
        }
        guard size.count == stride.count else {
            throw TorchCheckpointError.invalidTensor(reason: "size has \(size.count) dimensions but stride has \(stride.count)")
        }
        guard offset >= 0 else { throw TorchCheckpointError.invalidTensor(reason: "negative storage offset \(offset)") }
        var count = 1, span = 0
        for (d, (n, s)) in zip(size, stride).enumerated() {
            guard n >= 0 else { throw TorchCheckpointError.invalidTensor(reason: "dimension \(d) has negative size \(n)") }
            guard s >= 0 else { throw TorchCheckpointError.invalidTensor(reason: "dimension \(d) has negative stride \(s)") }
            let (c, o1) = count.multipliedReportingOverflow(by: n)
            let (reach, o2) = (n > 0 ? n - 1 : 0).multipliedReportingOverflow(by: s)
            let (sum, o3) = span.addingReportingOverflow(reach)
            guard !o1, !o2, !o3, c <= Int(Int32.max) * 64 else {
                throw TorchCheckpointError.invalidTensor(reason: "size \(size) with stride \(stride) overflows")
            }
            count = c
            span = sum
        }
        guard count <= Swift.max(storage.numel, maximumExpandedElements) else {
            throw TorchCheckpointError.invalidTensor(reason: "size \(size) has \(count) elements, more than storage '\(storage.key)' holds and the expansion limit")
        }
        if count > 0 && (offset > storage.numel || span >= storage.numel - offset) {
            throw TorchCheckpointError.tensorOutOfBounds(key: storage.key, offset: offset, extent: span + 1, storageElements: storage.numel)
        }
        var values = [Float](repeating: 0, count: count)
        if count > 0 {
            var index = [Int](repeating: 0, count: size.count)
            var position = offset
            for i in 0..<count {
                values[i] = element(data, storage.dtype, position)
                var d = size.count - 1
                while d >= 0 {
                    index[d] += 1
                    position += stride[d]
                    if index[d] < size[d] { break }
                    position -= stride[d] * size[d]
                    index[d] = 0
                    d -= 1
                }
            }
        }
        return TorchTensor(dtype: storage.dtype, tensor: Tensor(shape: size, values: values))
    }

    /// Element `i` of a storage, converted to Float32.
    static func element(_ data: UnsafeRawBufferPointer, _ dtype: TorchStorageDType, _ i: Int) -> Float {
        switch dtype {
        case .float32: return data.loadUnaligned(fromByteOffset: i * 4, as: Float.self)
        case .float64: return Float(data.loadUnaligned(fromByteOffset: i * 8, as: Double.self))
        case .int64: return Float(data.loadUnaligned(fromByteOffset: i * 8, as: Int64.self))
        case .int32: return Float(data.loadUnaligned(fromByteOffset: i * 4, as: Int32.self))
        case .int16: return Float(data.loadUnaligned(fromByteOffset: i * 2, as: Int16.self))
        case .int8: return Float(Int8(bitPattern: data[i]))
        case .uint8: return Float(data[i])
        case .bool: return data[i] == 0 ? 0 : 1
        case .float16:
            var h = data.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self), f: Float = 0
            ik_f16_to_f32(&h, &f, 1)
            return f
        case .bfloat16:
            return Float(bitPattern: UInt32(data.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)) << 16)
        }
    }
}
