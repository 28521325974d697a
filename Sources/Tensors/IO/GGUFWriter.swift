import Foundation

/// Little-endian GGUF fields appended to a byte buffer (the writer's building blocks; tests use
/// them to build malformed files field by field).
struct GGUFEncoder {
    var bytes: [UInt8] = []

    mutating func int<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }

    mutating func string(_ text: String) {
        int(UInt64(text.utf8.count))
        bytes += text.utf8
    }

    /// A value's payload, without its type id.
    mutating func value(_ value: GGUFValue) {
        switch value {
        case .uint8(let v): int(v)
        case .int8(let v): int(v)
        case .uint16(let v): int(v)
        case .int16(let v): int(v)
        case .uint32(let v): int(v)
        case .int32(let v): int(v)
        case .uint64(let v): int(v)
        case .int64(let v): int(v)
        case .float32(let v): int(v.bitPattern)
        case .float64(let v): int(v.bitPattern)
        case .bool(let v): int(UInt8(v ? 1 : 0))
        case .string(let s): string(s)
        case .array(let element, let values):
            int(element.rawValue)
            int(UInt64(values.count))
            for v in values { self.value(v) }
        }
    }

    /// A key/value pair: key, value type id, payload.
    mutating func pair(_ key: String, _ value: GGUFValue) {
        string(key)
        int(value.type.rawValue)
        self.value(value)
    }

    /// A tensor info with raw fields (any values, valid or not).
    mutating func tensorInfo(_ name: String, ne: [UInt64], type: UInt32, offset: UInt64) {
        string(name)
        int(UInt32(ne.count))
        for d in ne { int(d) }
        int(type)
        int(offset)
    }

    /// Zero bytes up to the next multiple of `alignment`.
    mutating func pad(to alignment: Int) {
        while bytes.count % alignment != 0 { bytes.append(0) }
    }
}

/// Writes GGUF version 3 files: metadata in insertion order, then tensors (any `GGMLType`, data
/// given as stored blocks, or Float32 tensors), each aligned to `alignment`.
public struct GGUFWriter {
    /// Alignment of the data section and of every tensor (written as `general.alignment` when not 32).
    public let alignment: Int
    private var pairs: [(key: String, value: GGUFValue)] = []
    private var tensors: [(info: GGUFTensorInfo, data: [UInt8])] = []

    /// A writer whose tensors are aligned to `alignment` bytes (a power of two).
    public init(alignment: Int = 32) throws {
        guard alignment > 0, alignment & (alignment - 1) == 0, alignment <= Int(UInt32.max) else {
            throw GGUFError(path: nil, .invalidAlignment(value: "\(alignment)"))
        }
        self.alignment = alignment
        if alignment != 32 { set("general.alignment", .uint32(UInt32(alignment))) }
    }

    /// Sets `key` to `value` (replacing an earlier value, keeping its position).
    public mutating func set(_ key: String, _ value: GGUFValue) {
        if let i = pairs.firstIndex(where: { $0.key == key }) { pairs[i].value = value } else { pairs.append((key, value)) }
    }

    /// Adds a tensor of `type` with dimensions `ne` (fastest-first) whose stored bytes are `data`.
    /// Throws `duplicateTensor`, `invalidDimensionCount`, `invalidDimension` (offsets 0) or
    /// `byteCountMismatch`.
    public mutating func add(_ name: String, type: GGMLType, ne: [Int], data: [UInt8]) throws {
        guard !tensors.contains(where: { $0.info.name == name }) else { throw GGUFError(path: nil, .duplicateTensor(name: name, offset: 0)) }
        guard (1...GGUFParser.maximumDimensions).contains(ne.count) else {
            throw GGUFError(path: nil, .invalidDimensionCount(tensor: name, offset: 0, count: UInt32(clamping: ne.count)))
        }
        if let bad = ne.firstIndex(where: { $0 < 1 }) {
            throw GGUFError(path: nil, .invalidDimension(tensor: name, index: bad, value: UInt64(clamping: ne[bad])))
        }
        let elements = ne.reduce(1) { $0.multipliedReportingOverflow(by: $1).partialValue }
        let expected = ne[0] % type.blockElements == 0 ? type.byteCount(elements: elements) : nil
        guard let expected, expected == data.count else {
            throw GGUFError(path: nil, .byteCountMismatch(type: type, elements: elements, expectedBytes: expected, actualBytes: data.count))
        }
        let offset = tensors.last.map { ($0.info.offset + $0.info.byteCount + alignment - 1) / alignment * alignment } ?? 0
        tensors.append((GGUFTensorInfo(name: name, type: type, ne: ne, offset: offset, byteCount: data.count), data))
    }

    /// Adds a Float32 tensor (stored as F32 with `ne` = its shape reversed; a scalar as `ne = [1]`).
    public mutating func add(_ name: String, _ tensor: Tensor) throws {
        let data = tensor.scalars.withUnsafeBytes { Array($0) }
        try add(name, type: .f32, ne: tensor.shape.isEmpty ? [1] : tensor.shape.reversed(), data: data)
    }

    /// The file's bytes.
    public func encode() -> [UInt8] {
        var e = GGUFEncoder()
        e.bytes += Array("GGUF".utf8)
        e.int(UInt32(3))
        e.int(UInt64(tensors.count))
        e.int(UInt64(pairs.count))
        for (key, value) in pairs { e.pair(key, value) }
        for (info, _) in tensors {
            e.tensorInfo(info.name, ne: info.ne.map { UInt64($0) }, type: info.type.rawValue, offset: UInt64(info.offset))
        }
        e.pad(to: alignment)
        for (_, data) in tensors {
            e.bytes += data
            e.pad(to: alignment)
        }
        return e.bytes
    }

    /// Writes the file to `path` (replacing any file there).
    public func write(to path: String) throws {
        do {
            try Data(encode()).write(to: URL(fileURLWithPath: path))
        } catch {
            throw FileError(path: path, reason: "cannot write: \(error.localizedDescription)")
        }
    }
}
