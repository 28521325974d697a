/// A malformed or hostile GGUF file, or a request the file cannot satisfy. `path` names the file
/// (nil for bytes dequantized from memory); `problem` names the field, the byte offset, the bad
/// value and what is allowed.
public struct GGUFError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file, or nil for in-memory data.
    public let path: String?
    /// What is wrong.
    public let problem: Problem

    /// Creates an error for `path`.
    public init(path: String?, _ problem: Problem) {
        self.path = path
        self.problem = problem
    }

    /// One thing wrong with a GGUF file. Offsets are absolute byte offsets in the file unless a
    /// case says otherwise.
    public enum Problem: Equatable, Sendable {
        /// Reading `field` at `offset` needs `needed` bytes but the file has `fileSize`.
        case truncated(field: String, offset: Int, needed: Int, fileSize: Int)
        /// The first four bytes are not "GGUF".
        case badMagic(found: [UInt8])
        /// A version other than 2 or 3 (version 1 used 32-bit counts and is refused).
        case unsupportedVersion(UInt32)
        /// A version that reads as 2 or 3 byte-swapped: a big-endian file.
        case bigEndian(version: UInt32)
        /// A count (tensors, key/value pairs, array elements) that cannot fit in the bytes left.
        case countTooLarge(field: String, offset: Int, count: UInt64, limit: Int)
        /// A string whose declared length runs past the end of the file.
        case stringPastEnd(field: String, offset: Int, length: UInt64, available: Int)
        /// A metadata value type id outside the 13 GGUF types.
        case unknownValueType(key: String, offset: Int, type: UInt32)
        /// Arrays nested deeper than `limit`.
        case nestingTooDeep(key: String, offset: Int, limit: Int)
        /// A bool byte other than 0 or 1.
        case invalidBool(key: String, offset: Int, value: UInt8)
        /// A key that occurs twice.
        case duplicateKey(key: String, offset: Int)
        /// A tensor name that occurs twice.
        case duplicateTensor(name: String, offset: Int)
        /// `general.alignment` is not a UINT32 power of two.
        case invalidAlignment(value: String)
        /// A tensor with fewer than 1 or more than 4 dimensions.
        case invalidDimensionCount(tensor: String, offset: Int, count: UInt32)
        /// A dimension that is 0 or larger than `Int.max`.
        case invalidDimension(tensor: String, index: Int, value: UInt64)
        /// Dimensions whose product (elements or bytes) overflows.
        case sizeOverflow(tensor: String, ne: [UInt64])
        /// A ggml type id this reader does not know.
        case unknownTensorType(tensor: String, offset: Int, type: UInt32)
        /// A row length ne[0] that is not a whole number of the type's blocks.
        case partialBlock(tensor: String, type: GGMLType, ne0: Int, blockElements: Int)
        /// A data offset that is not a multiple of the alignment.
        case misalignedOffset(tensor: String, offset: UInt64, alignment: Int)
        /// A tensor whose bytes fall outside the data section.
        case dataOutOfBounds(tensor: String, offset: UInt64, byteCount: Int, dataSize: Int)
        /// Two tensors whose byte ranges overlap.
        case overlappingTensors(first: String, second: String)
        /// No tensor of that name.
        case missingTensor(name: String)
        /// No metadata key of that name.
        case missingKey(key: String)
        /// A metadata value of another type than the accessor reads.
        case wrongValueType(key: String, found: String, expected: String)
        /// A metadata value that does not fit the accessor's type.
        case valueOutOfRange(key: String, value: String, expected: String)
        /// A tensor type with no Float32 conversion here (`tensor` is nil for in-memory data).
        case cannotDequantize(tensor: String?, type: GGMLType)
        /// In-memory blocks whose byte count does not match the element count.
        case byteCountMismatch(type: GGMLType, elements: Int, expectedBytes: Int?, actualBytes: Int)
    }

    /// "path: problem".
    public var description: String { (path.map { "\($0): " } ?? "") + problem.description }
}

extension GGUFError.Problem: CustomStringConvertible {
    /// A sentence naming the field, offset, value and what is allowed.
    public var description: String {
        switch self {
        case .truncated(let field, let offset, let needed, let size):
            return "truncated GGUF file: \(field) at byte \(offset) needs \(needed) bytes but the file has \(size)"
        case .badMagic(let found):
            return "not a GGUF file: magic is \(found.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: " ")), expected 47 47 55 46 (\"GGUF\")"
        case .unsupportedVersion(let v):
            return "GGUF version \(v) is not supported (allowed: 2, 3\(v == 1 ? "; version 1 used 32-bit counts and is obsolete" : ""))"
        case .bigEndian(let v):
            return "GGUF version field reads \(v): a big-endian file, which is not supported (allowed: little-endian versions 2, 3)"
        case .countTooLarge(let field, let offset, let count, let limit):
            return "\(field) at byte \(offset) is \(count), but the bytes left in the file hold at most \(limit)"
        case .stringPastEnd(let field, let offset, let length, let available):
            return "\(field) at byte \(offset) declares a string of \(length) bytes but only \(available) bytes follow"
        case .unknownValueType(let key, let offset, let type):
            return "key '\(key)': value type \(type) at byte \(offset) is unknown (allowed: 0...12, \(GGUFValueType.allCases.map(\.name).joined(separator: ", ")))"
        case .nestingTooDeep(let key, let offset, let limit):
            return "key '\(key)': arrays nested deeper than \(limit) levels at byte \(offset)"
        case .invalidBool(let key, let offset, let value):
            return "key '\(key)': bool at byte \(offset) is \(value) (allowed: 0, 1)"
        case .duplicateKey(let key, let offset): return "key '\(key)' at byte \(offset) occurs twice"
        case .duplicateTensor(let name, let offset): return "tensor '\(name)' at byte \(offset) occurs twice"
        case .invalidAlignment(let value): return "general.alignment is \(value) (allowed: a UINT32 power of two)"
        case .invalidDimensionCount(let tensor, let offset, let count):
            return "tensor '\(tensor)': n_dims at byte \(offset) is \(count) (allowed: 1...4)"
        case .invalidDimension(let tensor, let index, let value):
            return "tensor '\(tensor)': ne[\(index)] is \(value) (allowed: 1...\(Int.max))"
        case .sizeOverflow(let tensor, let ne): return "tensor '\(tensor)': dimensions \(ne) overflow the element or byte count"
        case .unknownTensorType(let tensor, let offset, let type):
            return "tensor '\(tensor)': ggml type \(type) at byte \(offset) is unknown (allowed: \(GGMLType.allCases.map { "\($0.rawValue) \($0.name)" }.joined(separator: ", ")))"
        case .partialBlock(let tensor, let type, let ne0, let block):
            return "tensor '\(tensor)': row length ne[0] = \(ne0) is not a multiple of \(type.name)'s block of \(block) elements"
        case .misalignedOffset(let tensor, let offset, let alignment):
            return "tensor '\(tensor)': data offset \(offset) is not a multiple of the alignment \(alignment)"
        case .dataOutOfBounds(let tensor, let offset, let count, let size):
            return "tensor '\(tensor)': \(count) bytes at data offset \(offset) fall outside the data section of \(size) bytes"
        case .overlappingTensors(let a, let b): return "tensors '\(a)' and '\(b)' have overlapping data"
        case .missingTensor(let name): return "no tensor named '\(name)'"
        case .missingKey(let key): return "no metadata key '\(key)'"
        case .wrongValueType(let key, let found, let expected): return "key '\(key)' holds \(found), expected \(expected)"
        case .valueOutOfRange(let key, let value, let expected): return "key '\(key)' holds \(value), expected \(expected)"
        case .cannotDequantize(let tensor, let type):
            return "\(tensor.map { "tensor '\($0)': " } ?? "")type \(type.name) has no Float32 conversion (supported: \(GGMLType.dequantizable.map(\.name).joined(separator: ", ")))"
        case .byteCountMismatch(let type, let elements, let expected, let actual):
            let need = expected.map { "needs \($0) bytes" } ?? "is not a whole number of \(type.blockElements)-element blocks"
            return "\(elements) \(type.name) elements \(need), got \(actual) bytes"
        }
    }
}
