/// A tensor info as read from the header, before the data layout is checked.
struct GGUFTensorRecord {
    let name: String
    let ne: [Int]
    let type: GGMLType
    let offset: UInt64
    /// Where the tensor info starts in the file.
    let position: Int
}

/// The header of a GGUF file: version, metadata in file order, tensor infos, and where the
/// header ends (the tensor data starts at the next multiple of the alignment).
struct GGUFHeader {
    var version: UInt32 = 0
    var metadata: [String: GGUFValue] = [:]
    var keys: [String] = []
    var tensors: [GGUFTensorRecord] = []
    var end = 0
}

/// Reads the header of a GGUF file (versions 2 and 3, little-endian) with a bounds-checked cursor.
enum GGUFParser {
    /// The deepest array nesting accepted (GGUF files in the wild nest at most one level).
    static let maximumNesting = 8
    /// The fewest bytes a key/value pair takes: key length, value type, a one-byte value.
    static let minimumPairBytes = 8 + 4 + 1
    /// The fewest bytes a tensor info takes: name length, n_dims, one dimension, type, offset.
    static let minimumTensorInfoBytes = 8 + 4 + 8 + 4 + 8
    /// The highest number of dimensions ggml supports.
    static let maximumDimensions = 4

    static func parse(_ cursor: inout GGUFCursor) throws -> GGUFHeader {
        var header = GGUFHeader()
        header.version = try readPreamble(&cursor)
        let tensorCount = try cursor.read(UInt64.self, "tensor_count")
        let pairCount = try cursor.read(UInt64.self, "metadata_kv_count")
        let room = cursor.remaining
        let tensorLimit = room / minimumTensorInfoBytes
        guard tensorCount <= UInt64(tensorLimit) else {
            throw cursor.error(.countTooLarge(field: "tensor_count", offset: 8, count: tensorCount, limit: tensorLimit))
        }
        let pairLimit = (room - Int(tensorCount) * minimumTensorInfoBytes) / minimumPairBytes
        guard pairCount <= UInt64(pairLimit) else {
            throw cursor.error(.countTooLarge(field: "metadata_kv_count", offset: 16, count: pairCount, limit: pairLimit))
        }
        for index in 0..<Int(pairCount) {
            let start = cursor.offset
            let key = try cursor.string("key of metadata pair #\(index)")
            guard header.metadata[key] == nil else { throw cursor.error(.duplicateKey(key: key, offset: start)) }
            let typeOffset = cursor.offset
            let rawType = try cursor.read(UInt32.self, "value type of '\(key)'")
            guard let type = GGUFValueType(rawValue: rawType) else {
                throw cursor.error(.unknownValueType(key: key, offset: typeOffset, type: rawType))
            }
            header.metadata[key] = try readValue(&cursor, type: type, key: key, depth: 0)
            header.keys.append(key)
        }
        var names = Set<String>()
        for index in 0..<Int(tensorCount) {
            let record = try readTensorInfo(&cursor, index: index)
            guard names.insert(record.name).inserted else {
                throw cursor.error(.duplicateTensor(name: record.name, offset: record.position))
            }
            header.tensors.append(record)
        }
        header.end = cursor.offset
        return header
    }

    /// Magic and version; refuses other files, version 1 and big-endian files.
    static func readPreamble(_ cursor: inout GGUFCursor) throws -> UInt32 {
        try cursor.need(4, "magic")
        let magic = (0..<4).map { cursor.base!.load(fromByteOffset: $0, as: UInt8.self) }
        guard magic == Array("GGUF".utf8) else { throw cursor.error(.badMagic(found: magic)) }
        _ = try cursor.read(UInt32.self, "magic")
        let version = try cursor.read(UInt32.self, "version")
        if version == 2 || version == 3 { return version }
        if version.byteSwapped == 2 || version.byteSwapped == 3 { throw cursor.error(.bigEndian(version: version)) }
        throw cursor.error(.unsupportedVersion(version))
    }

    /// One value of `type`; arrays recurse up to `maximumNesting` levels.
    static func readValue(_ cursor: inout GGUFCursor, type: GGUFValueType, key: String, depth: Int) throws -> GGUFValue {
        let field = "value of '\(key)'"
        switch type {
        case .uint8: return .uint8(try cursor.read(UInt8.self, field))
        case .int8: return .int8(try cursor.read(Int8.self, field))
        case .uint16: return .uint16(try cursor.read(UInt16.self, field))
        case .int16: return .int16(try cursor.read(Int16.self, field))
        case .uint32: return .uint32(try cursor.read(UInt32.self, field))
        case .int32: return .int32(try cursor.read(Int32.self, field))
        case .uint64: return .uint64(try cursor.read(UInt64.self, field))
        case .int64: return .int64(try cursor.read(Int64.self, field))
        case .float32: return .float32(Float(bitPattern: try cursor.read(UInt32.self, field)))
        case .float64: return .float64(Double(bitPattern: try cursor.read(UInt64.self, field)))
        case .string: return .string(try cursor.string(field))
        case .bool:
            let start = cursor.offset
            let byte = try cursor.read(UInt8.self, field)
            guard byte <= 1 else { throw cursor.error(.invalidBool(key: key, offset: start, value: byte)) }
            return .bool(byte == 1)
        case .array:
            return try readArray(&cursor, key: key, depth: depth)
        }
    }

    /// An array: element type, UINT64 count, the elements.
    static func readArray(_ cursor: inout GGUFCursor, key: String, depth: Int) throws -> GGUFValue {
        let typeOffset = cursor.offset
        let rawType = try cursor.read(UInt32.self, "array element type of '\(key)'")
        guard let element = GGUFValueType(rawValue: rawType) else {
            throw cursor.error(.unknownValueType(key: key, offset: typeOffset, type: rawType))
        }
        if element == .array && depth + 1 >= maximumNesting {
            throw cursor.error(.nestingTooDeep(key: key, offset: typeOffset, limit: maximumNesting))
        }
        let count = try cursor.count("array length of '\(key)'", minimumSize: element.minimumSize)
        var values: [GGUFValue] = []
        values.reserveCapacity(count)
        for _ in 0..<count {
            values.append(try readValue(&cursor, type: element, key: key, depth: depth + 1))
        }
        return .array(element, values)
    }

    /// One tensor info: name, n_dims, ne (fastest first), ggml type, offset in the data section.
    static func readTensorInfo(_ cursor: inout GGUFCursor, index: Int) throws -> GGUFTensorRecord {
        let position = cursor.offset
        let name = try cursor.string("name of tensor #\(index)")
        let dimsOffset = cursor.offset
        let dimensionCount = try cursor.read(UInt32.self, "n_dims of '\(name)'")
        guard (1...UInt32(maximumDimensions)).contains(dimensionCount) else {
            throw cursor.error(.invalidDimensionCount(tensor: name, offset: dimsOffset, count: dimensionCount))
        }
        var ne: [Int] = []
        for d in 0..<Int(dimensionCount) {
            let value = try cursor.read(UInt64.self, "ne[\(d)] of '\(name)'")
            guard value >= 1, value <= UInt64(Int.max) else {
                throw cursor.error(.invalidDimension(tensor: name, index: d, value: value))
            }
            ne.append(Int(value))
        }
        let typeOffset = cursor.offset
        let rawType = try cursor.read(UInt32.self, "type of '\(name)'")
        guard let type = GGMLType(rawValue: rawType) else {
            throw cursor.error(.unknownTensorType(tensor: name, offset: typeOffset, type: rawType))
        }
        let offset = try cursor.read(UInt64.self, "offset of '\(name)'")
        return GGUFTensorRecord(name: name, ne: ne, type: type, offset: offset, position: position)
    }
}
