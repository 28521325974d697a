import CKernels
import Foundation

/// Element types a safetensors file may hold, with their sizes in bytes.
public enum SafeTensorsDType: String, Sendable, CaseIterable {
    case f32 = "F32", f16 = "F16", bf16 = "BF16", f64 = "F64"
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8", u8 = "U8", bool = "BOOL"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .f64, .i64: return 8
        case .f32, .i32: return 4
        case .f16, .bf16, .i16: return 2
        case .i8, .u8, .bool: return 1
        }
    }

    /// True for floating-point types.
    public var isFloatingPoint: Bool { self == .f32 || self == .f16 || self == .bf16 || self == .f64 }
}

/// A malformed safetensors file, or a request the file cannot satisfy. Every case names the
/// offending tensor or field.
public enum SafeTensorsError: Error, CustomStringConvertible, Equatable {
    case truncated(path: String, reason: String)
    case headerTooLarge(path: String, declared: UInt64, available: Int)
    case invalidHeader(path: String, reason: String)
    case unsupportedDType(tensor: String, dtype: String)
    case invalidShape(tensor: String, reason: String)
    case dataOutOfBounds(tensor: String, begin: Int, end: Int, dataSize: Int)
    case sizeMismatch(tensor: String, expectedBytes: Int, actualBytes: Int)
    case overlapping(first: String, second: String)
    case missingTensor(name: String, path: String)
    case wrongKind(tensor: String, dtype: String, expected: String)

    public var description: String {
        switch self {
        case .truncated(let path, let reason): return "\(path): truncated safetensors file (\(reason))"
        case .headerTooLarge(let path, let declared, let available):
            return "\(path): header length \(declared) exceeds the \(available) bytes after the length field"
        case .invalidHeader(let path, let reason): return "\(path): invalid safetensors header: \(reason)"
        case .unsupportedDType(let tensor, let dtype):
            return "tensor '\(tensor)': dtype '\(dtype)' is not supported (allowed: \(SafeTensorsDType.allCases.map(\.rawValue).joined(separator: ", ")))"
        case .invalidShape(let tensor, let reason): return "tensor '\(tensor)': invalid shape: \(reason)"
        case .dataOutOfBounds(let tensor, let begin, let end, let size):
            return "tensor '\(tensor)': data_offsets [\(begin), \(end)] fall outside the data section of \(size) bytes"
        case .sizeMismatch(let tensor, let expected, let actual):
            return "tensor '\(tensor)': shape and dtype need \(expected) bytes but data_offsets span \(actual)"
        case .overlapping(let a, let b): return "tensors '\(a)' and '\(b)' have overlapping data_offsets"
        case .missingTensor(let name, let path): return "\(path): no tensor named '\(name)'"
        case .wrongKind(let tensor, let dtype, let expected): return "tensor '\(tensor)' has dtype \(dtype); expected \(expected)"
        }
    }
}

/// A safetensors file opened for reading: the header is parsed and validated up front, the data
/// is memory-mapped (privately: nothing written to the mapping reaches the file), and Float32
/// tensors are read in place when aligned (`tensor(_:copying:)`).
public final class SafeTensorsFile: @unchecked Sendable {
    /// One tensor's header entry.
    public struct Entry: Sendable, Equatable {
        public let name: String
        public let dtype: SafeTensorsDType
        public let shape: [Int]
        /// Byte range inside the data section.
        public let begin: Int, end: Int
    }

    /// The file's path.
    public let path: String
    /// Entries by name.
    public let entries: [String: Entry]
    /// The optional `__metadata__` string map.
    public let metadata: [String: String]
    let bytes: FileBytes
    let dataStart: Int

    /// Tensor names, sorted.
    public var names: [String] { entries.keys.sorted() }

    /// The largest header accepted (100 MB, as the reference implementation).
    public static let maximumHeaderBytes: UInt64 = 100_000_000

    /// Validates the safetensors file held by `fileBytes` (`init(path:)` and `init(bytes:name:)`
    /// come from `FileBytesReader`); throws `SafeTensorsError` naming the tensor or field.
    public init(fileBytes: FileBytes) throws {
        let path = fileBytes.path
        self.path = path
        bytes = fileBytes
        let total = bytes.count
        guard total >= 8 else { throw SafeTensorsError.truncated(path: path, reason: "\(total) bytes, need at least 8 for the header length") }
        let raw = bytes.pointer!
        var declared: UInt64 = 0
        for i in 0..<8 { declared |= UInt64(raw.load(fromByteOffset: i, as: UInt8.self)) << (8 * UInt64(i)) }
        guard declared <= UInt64(total - 8) else { throw SafeTensorsError.headerTooLarge(path: path, declared: declared, available: total - 8) }
        guard declared <= SafeTensorsFile.maximumHeaderBytes else {
            throw SafeTensorsError.invalidHeader(path: path, reason: "header of \(declared) bytes exceeds the 100 MB limit")
        }
        let headerLength = Int(declared)
        dataStart = 8 + headerLength
        let headerBytes = UnsafeRawBufferPointer(start: raw + 8, count: headerLength)
        let header: JSONValue
        do {
            header = try JSONValue.parse(headerBytes)
        } catch {
            throw SafeTensorsError.invalidHeader(path: path, reason: "header is not JSON (\(error))")
        }
        guard case .object(let object) = header else {
            throw SafeTensorsError.invalidHeader(path: path, reason: "header is \(header.kindName), expected an object")
        }
        let dataSize = total - dataStart
        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in object {
            if name == "__metadata__" {
                guard case .object(let m) = value else {
                    throw SafeTensorsError.invalidHeader(path: path, reason: "__metadata__ must be an object of strings")
                }
                for (k, v) in m {
                    guard let s = v.stringValue else {
                        throw SafeTensorsError.invalidHeader(path: path, reason: "__metadata__ value for '\(k)' is \(v.kindName), expected a string")
                    }
                    metadata[k] = s
                }
                continue
            }
            entries[name] = try SafeTensorsFile.validateEntry(name: name, value: value, dataSize: dataSize, path: path)
        }
        // Byte ranges must not overlap.
        let sorted = entries.values.filter { $0.end > $0.begin }.sorted { ($0.begin, $0.name) < ($1.begin, $1.name) }
        for (a, b) in zip(sorted, sorted.dropFirst()) where b.begin < a.end {
            throw SafeTensorsError.overlapping(first: a.name, second: b.name)
        }
        self.entries = entries
        self.metadata = metadata
    }

    static func validateEntry(name: String, value: JSONValue, dataSize: Int, path: String) throws -> Entry {
        guard case .object(let fields) = value else {
            throw SafeTensorsError.invalidHeader(path: path, reason: "entry '\(name)' is \(value.kindName), expected an object")
        }
        guard let dtypeName = fields["dtype"]?.stringValue else {
            throw SafeTensorsError.invalidHeader(path: path, reason: "entry '\(name)' has no string 'dtype'")
        }
        guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
            throw SafeTensorsError.unsupportedDType(tensor: name, dtype: dtypeName)
        }
        guard let shapeValues = fields["shape"]?.arrayValue else {
            throw SafeTensorsError.invalidShape(tensor: name, reason: "missing or not an array")
        }
        var shape: [Int] = []
        var elements = 1
        for v in shapeValues {
            guard let d = v.intValue, d >= 0 else {
                throw SafeTensorsError.invalidShape(tensor: name, reason: "dimension \(v) is not a non-negative integer")
            }
            let (product, overflow) = elements.multipliedReportingOverflow(by: d)
            guard !overflow, product <= Int(Int32.max) * 64 else {
                throw SafeTensorsError.invalidShape(tensor: name, reason: "\(shapeValues.count)-D shape has too many elements")
            }
            elements = product
            shape.append(d)
        }
        guard let offsets = fields["data_offsets"]?.arrayValue, offsets.count == 2,
              let begin = offsets[0].intValue, let end = offsets[1].intValue else {
            throw SafeTensorsError.invalidHeader(path: path, reason: "entry '\(name)' needs 'data_offsets' as two integers")
        }
        guard begin >= 0, end >= begin, end <= dataSize else {
            throw SafeTensorsError.dataOutOfBounds(tensor: name, begin: begin, end: end, dataSize: dataSize)
        }
        let expected = elements * dtype.size
        guard end - begin == expected else {
            throw SafeTensorsError.sizeMismatch(tensor: name, expectedBytes: expected, actualBytes: end - begin)
        }
        return Entry(name: name, dtype: dtype, shape: shape, begin: begin, end: end)
    }

    func entry(_ name: String) throws -> Entry {
        guard let e = entries[name] else { throw SafeTensorsError.missingTensor(name: name, path: path) }
        return e
    }

    /// True when the file has a tensor called `name`.
    public func contains(_ name: String) -> Bool { entries[name] != nil }

    /// A floating-point tensor as Float32, read in place when it can be (`tensor(_:copying:)`).
    public func tensor(_ name: String) throws -> Tensor { try tensor(name, copying: false) }

    /// A floating-point tensor as Float32 (F16, BF16 and F64 are converted).
    ///
    /// F32 data is read in place, not copied, when it can be: on a little-endian host, when the
    /// tensor's offset in the file (8 + header length + `begin`) is a multiple of 4 and the tensor
    /// is not empty. Such a tensor borrows the file's pages (`Tensor.borrowsMemory`): it keeps the
    /// mapping alive, costs no anonymous memory until something writes it, and its first in-place
    /// write copies it out, so the file is never changed. `copying` forces a private copy (then
    /// the file may be closed as soon as the tensors are read). Every other tensor is copied.
    public func tensor(_ name: String, copying: Bool) throws -> Tensor {
        let e = try entry(name)
        guard e.dtype.isFloatingPoint else {
            throw SafeTensorsError.wrongKind(tensor: name, dtype: e.dtype.rawValue, expected: "a floating-point dtype (F32, F16, BF16, F64)")
        }
        let fileOffset = dataStart + e.begin
        let source = bytes.pointer! + fileOffset
        let n = e.shape.reduce(1, *)
        // The mapping (or in-memory copy) starts on a page (16-byte) boundary, so a file offset
        // that is a multiple of 4 is a Float-aligned address.
        if !copying && SafeTensorsFile.hostIsLittleEndian && e.dtype == .f32 && fileOffset % 4 == 0 && n > 0 {
            let storage = TensorStorage(borrowing: source.assumingMemoryBound(to: Float.self), count: n, owner: bytes)
            return Tensor(storage: storage, shape: e.shape, strides: Tensor.contiguousStrides(for: e.shape))
        }
        var out = Tensor(uninitializedShape: e.shape)
        let dst = out.storage.pointer
        switch e.dtype {
        case .f32:
            UnsafeMutableRawPointer(dst).copyMemory(from: source, byteCount: n * 4)
            if !SafeTensorsFile.hostIsLittleEndian {
                for i in 0..<n { dst[i] = Float(bitPattern: UInt32(littleEndian: dst[i].bitPattern)) }
            }
        case .f16, .bf16:
            let halves = UnsafeMutablePointer<UInt16>.allocate(capacity: Swift.max(n, 1))
            defer { halves.deallocate() }
            UnsafeMutableRawPointer(halves).copyMemory(from: source, byteCount: n * 2)
            if !SafeTensorsFile.hostIsLittleEndian { for i in 0..<n { halves[i] = UInt16(littleEndian: halves[i]) } }
            if e.dtype == .f16 { ik_f16_to_f32(halves, dst, n) } else { ik_bf16_to_f32(halves, dst, n) }
        case .f64:
            for i in 0..<n { dst[i] = Float(Double(bitPattern: UInt64(littleEndian: source.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)))) }
        default:
            break
        }
        out.gradNode = nil
        return out
    }

    /// True on little-endian hosts, where F32 data can be used as stored.
    static var hostIsLittleEndian: Bool { 1.littleEndian == 1 }

    /// An integer tensor (I64, I32, I16, I8, U8, BOOL) as Int values.
    public func integers(_ name: String) throws -> IndexTensor {
        let e = try entry(name)
        let source = UnsafeRawPointer(bytes.pointer! + dataStart + e.begin)
        let n = e.shape.reduce(1, *)
        var values = [Int](repeating: 0, count: n)
        switch e.dtype {
        case .i64: for i in 0..<n { values[i] = Int(Int64(littleEndian: source.loadUnaligned(fromByteOffset: i * 8, as: Int64.self))) }
        case .i32: for i in 0..<n { values[i] = Int(Int32(littleEndian: source.loadUnaligned(fromByteOffset: i * 4, as: Int32.self))) }
        case .i16: for i in 0..<n { values[i] = Int(Int16(littleEndian: source.loadUnaligned(fromByteOffset: i * 2, as: Int16.self))) }
        case .i8: for i in 0..<n { values[i] = Int(source.load(fromByteOffset: i, as: Int8.self)) }
        case .u8, .bool: for i in 0..<n { values[i] = Int(source.load(fromByteOffset: i, as: UInt8.self)) }
        default:
            throw SafeTensorsError.wrongKind(tensor: name, dtype: e.dtype.rawValue, expected: "an integer dtype (I64, I32, I16, I8, U8, BOOL)")
        }
        return IndexTensor(shape: e.shape, values: values)
    }
}

/// Writes safetensors files: a little-endian header length, a JSON header padded with spaces to
/// a multiple of 8 bytes, then the tensors' bytes in name order.
public enum SafeTensorsWriter {
    /// One tensor to write.
    public enum Item {
        case float(Tensor)
        case float16(Tensor)
        case int64(IndexTensor)
    }

    /// Serialises `items` (and optional string metadata) to bytes.
    public static func encode(_ items: [String: Item], metadata: [String: String] = [:]) -> [UInt8] {
        var header = JSONObject()
        if !metadata.isEmpty {
            var m = JSONObject()
            for k in metadata.keys.sorted() { m[k] = .string(metadata[k]!) }
            header["__metadata__"] = .object(m)
        }
        var offset = 0
        var payloads: [[UInt8]] = []
        for name in items.keys.sorted() {
            let (dtype, shape, payload) = bytes(of: items[name]!)
            header[name] = .object(JSONObject([("dtype", .string(dtype)), ("shape", .array(shape.map { .int($0) })),
                                               ("data_offsets", .array([.int(offset), .int(offset + payload.count)]))]))
            offset += payload.count
            payloads.append(payload)
        }
        var headerBytes = Array(JSONValue.object(header).serialized().utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }
        var out: [UInt8] = []
        out.reserveCapacity(8 + headerBytes.count + offset)
        var length = UInt64(headerBytes.count)
        for _ in 0..<8 { out.append(UInt8(length & 0xff)); length >>= 8 }
        out += headerBytes
        for p in payloads { out += p }
        return out
    }

    /// The item's dtype, shape and little-endian payload (whatever the host's byte order).
    static func bytes(of item: Item) -> (String, [Int], [UInt8]) {
        switch item {
        case .float(let t):
            #if _endian(little)
            return ("F32", t.shape, t.scalars.withUnsafeBytes { Array($0) })
            #else
            return ("F32", t.shape, littleEndianBytes(t.scalars.map(\.bitPattern)))
            #endif
        case .float16(let t):
            let values = t.scalars
            var halves = [UInt16](repeating: 0, count: values.count)
            ik_f32_to_f16(values, &halves, values.count)
            return ("F16", t.shape, littleEndianBytes(halves))
        case .int64(let t):
            return ("I64", t.shape, littleEndianBytes(t.values.map { Int64($0) }))
        }
    }

    /// The values' bytes, least significant first.
    static func littleEndianBytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        #if _endian(little)
        return values.withUnsafeBytes { Array($0) }
        #else
        return values.map(\.littleEndian).withUnsafeBytes { Array($0) }
        #endif
    }

    /// Writes `items` to `path` (replacing any file there).
    public static func write(_ items: [String: Item], metadata: [String: String] = [:], to path: String) throws {
        let data = Data(encode(items, metadata: metadata))
        do {
            try data.write(to: URL(fileURLWithPath: path))
        } catch {
            throw FileError(path: path, reason: "cannot write: \(error.localizedDescription)")
        }
    }
}
