import Testing
import Foundation
@testable import Tensors

/// Truncated and hostile GGUF files: each throws the typed error naming the problem.
@Suite struct GGUFMalformedTests {
    let files = GGUFTestFiles()
    typealias T = GGUFTestFiles.RawTensor

    /// Expects opening `bytes` to throw exactly `problem`, whose message is `message`.
    func expect(_ bytes: [UInt8], _ problem: GGUFError.Problem, _ message: String,
                sourceLocation: SourceLocation = #_sourceLocation) {
        let error = files.openingError(bytes, "file-\(UUID().uuidString).gguf")
        guard let error = error as? GGUFError else {
            Issue.record("expected \(problem), got \(String(describing: error))", sourceLocation: sourceLocation)
            return
        }
        #expect(error.problem == problem, sourceLocation: sourceLocation)
        #expect(error.problem.description == message, sourceLocation: sourceLocation)
        #expect(error.description.hasSuffix(": " + message) && error.path != nil, sourceLocation: sourceLocation)
    }

    /// A file with one F32 tensor `w` of `ne` at `offset`, followed by `dataBytes` zero bytes.
    func tensorFile(ne: [UInt64], type: UInt32 = 0, offset: UInt64 = 0, dataBytes: Int) -> [UInt8] {
        GGUFTestFiles.bytes(tensors: [T(name: "w", ne: ne, type: type, offset: offset)], data: [UInt8](repeating: 0, count: dataBytes))
    }

    @Test func truncatedHeader() {
        expect([], .truncated(field: "magic", offset: 0, needed: 4, fileSize: 0),
               "truncated GGUF file: magic at byte 0 needs 4 bytes but the file has 0")
        let valid = GGUFTestFiles.bytes(pairs: [("general.name", .string("tiny"))])
        expect(Array(valid.prefix(12)), .truncated(field: "tensor_count", offset: 8, needed: 8, fileSize: 12),
               "truncated GGUF file: tensor_count at byte 8 needs 8 bytes but the file has 12")
        expect(Array(valid.prefix(48)), .truncated(field: "length of value of 'general.name'", offset: 48, needed: 8, fileSize: 48),
               "truncated GGUF file: length of value of 'general.name' at byte 48 needs 8 bytes but the file has 48")
        expect(Array(valid.prefix(40)), .stringPastEnd(field: "key of metadata pair #0", offset: 24, length: 12, available: 8),
               "key of metadata pair #0 at byte 24 declares a string of 12 bytes but only 8 bytes follow")
    }

    @Test func notGGUFOrUnsupportedVersion() {
        var bytes = GGUFTestFiles.bytes()
        bytes[3] = 0x58
        expect(bytes, .badMagic(found: [0x47, 0x47, 0x55, 0x58]), "not a GGUF file: magic is 47 47 55 58, expected 47 47 55 46 (\"GGUF\")")
        expect(GGUFTestFiles.bytes(version: 1), .unsupportedVersion(1),
               "GGUF version 1 is not supported (allowed: 2, 3; version 1 used 32-bit counts and is obsolete)")
        expect(GGUFTestFiles.bytes(version: 4), .unsupportedVersion(4), "GGUF version 4 is not supported (allowed: 2, 3)")
        expect(GGUFTestFiles.bytes(version: 3 << 24), .bigEndian(version: 3 << 24),
               "GGUF version field reads 50331648: a big-endian file, which is not supported (allowed: little-endian versions 2, 3)")
    }

    @Test func countsBeyondTheFile() {
        let bytes = GGUFTestFiles.bytes(tensorCount: 1 << 50)
        expect(bytes, .countTooLarge(field: "tensor_count", offset: 8, count: 1 << 50, limit: 0),
               "tensor_count at byte 8 is 1125899906842624, but the bytes left in the file hold at most 0")
        let pairs = GGUFTestFiles.bytes(pairCount: 4, pairs: [("a", .uint8(1))])
        expect(pairs, .countTooLarge(field: "metadata_kv_count", offset: 16, count: 4, limit: 3),
               "metadata_kv_count at byte 16 is 4, but the bytes left in the file hold at most 3")
    }

    @Test func stringLengthPastTheEnd() {
        let bytes = GGUFTestFiles.bytes(pairCount: 1, extraPairs: { e in
            e.int(UInt64(1) << 40)
            e.bytes += Array("abc".utf8)
        })
        expect(bytes, .stringPastEnd(field: "key of metadata pair #0", offset: 24, length: 1 << 40, available: bytes.count - 32),
               "key of metadata pair #0 at byte 24 declares a string of 1099511627776 bytes but only 32 bytes follow")
    }

    @Test func arrayLengthPastTheEnd() {
        let bytes = GGUFTestFiles.bytes(pairCount: 1, extraPairs: { e in
            e.string("arr")
            e.int(GGUFValueType.array.rawValue)
            e.int(GGUFValueType.float32.rawValue)
            e.int(UInt64(1) << 60)
        })
        expect(bytes, .countTooLarge(field: "array length of 'arr'", offset: 43, count: 1 << 60, limit: (bytes.count - 51) / 4),
               "array length of 'arr' at byte 43 is 1152921504606846976, but the bytes left in the file hold at most 3")
    }

    @Test func unknownValueTypes() {
        let bytes = GGUFTestFiles.bytes(pairCount: 1, extraPairs: { e in
            e.string("weird")
            e.int(UInt32(13))
            e.int(UInt32(0))
        })
        expect(bytes, .unknownValueType(key: "weird", offset: 37, type: 13),
               "key 'weird': value type 13 at byte 37 is unknown (allowed: 0...12, UINT8, INT8, UINT16, INT16, UINT32, INT32, FLOAT32, BOOL, STRING, ARRAY, UINT64, INT64, FLOAT64)")
        let element = GGUFTestFiles.bytes(pairCount: 1, extraPairs: { e in
            e.string("list")
            e.int(GGUFValueType.array.rawValue)
            e.int(UInt32(99))
            e.int(UInt64(0))
        })
        expect(element, .unknownValueType(key: "list", offset: 40, type: 99),
               "key 'list': value type 99 at byte 40 is unknown (allowed: 0...12, UINT8, INT8, UINT16, INT16, UINT32, INT32, FLOAT32, BOOL, STRING, ARRAY, UINT64, INT64, FLOAT64)")
    }

    @Test func nestingAndBoolsAndDuplicates() throws {
        func nested(_ levels: Int) -> GGUFValue {
            (1..<levels).reduce(GGUFValue.array(.int32, [.int32(1)])) { inner, _ in .array(.array, [inner]) }
        }
        _ = try GGUFFile(path: files.write(GGUFTestFiles.bytes(pairs: [("deep", nested(8))]), "eight.gguf"))
        expect(GGUFTestFiles.bytes(pairs: [("deep", nested(9))]), .nestingTooDeep(key: "deep", offset: 124, limit: 8),
               "key 'deep': arrays nested deeper than 8 levels at byte 124")
        var flag = GGUFTestFiles.bytes(pairs: [("flag", .bool(true))])
        flag[40] = 2
        expect(flag, .invalidBool(key: "flag", offset: 40, value: 2), "key 'flag': bool at byte 40 is 2 (allowed: 0, 1)")
        expect(GGUFTestFiles.bytes(pairs: [("a", .uint8(1)), ("a", .uint8(2))]), .duplicateKey(key: "a", offset: 38),
               "key 'a' at byte 38 occurs twice")
        let twice = GGUFTestFiles.bytes(tensors: [T(name: "w", ne: [8], type: 0, offset: 0), T(name: "w", ne: [8], type: 0, offset: 32)],
                                        data: [UInt8](repeating: 0, count: 64))
        expect(twice, .duplicateTensor(name: "w", offset: 57), "tensor 'w' at byte 57 occurs twice")
    }

    @Test func alignmentMustBeAUInt32PowerOfTwo() {
        expect(GGUFTestFiles.bytes(pairs: [("general.alignment", .uint32(48))]), .invalidAlignment(value: "UINT32 48"),
               "general.alignment is UINT32 48 (allowed: a UINT32 power of two)")
        expect(GGUFTestFiles.bytes(pairs: [("general.alignment", .string("32"))]), .invalidAlignment(value: "STRING \"32\""),
               "general.alignment is STRING \"32\" (allowed: a UINT32 power of two)")
    }

    @Test func tensorOffsetOutOfRange() {
        expect(tensorFile(ne: [8], offset: 64, dataBytes: 32), .dataOutOfBounds(tensor: "w", offset: 64, byteCount: 32, dataSize: 32),
               "tensor 'w': 32 bytes at data offset 64 fall outside the data section of 32 bytes")
        expect(tensorFile(ne: [1 << 40], dataBytes: 32), .dataOutOfBounds(tensor: "w", offset: 0, byteCount: 1 << 42, dataSize: 32),
               "tensor 'w': 4398046511104 bytes at data offset 0 fall outside the data section of 32 bytes")
        let overlapping = GGUFTestFiles.bytes(tensors: [T(name: "a", ne: [16], type: 0, offset: 0), T(name: "b", ne: [8], type: 0, offset: 32)],
                                              data: [UInt8](repeating: 0, count: 96))
        expect(overlapping, .overlappingTensors(first: "a", second: "b"), "tensors 'a' and 'b' have overlapping data")
    }

    @Test func misalignedData() {
        expect(tensorFile(ne: [4], offset: 16, dataBytes: 64), .misalignedOffset(tensor: "w", offset: 16, alignment: 32),
               "tensor 'w': data offset 16 is not a multiple of the alignment 32")
    }

    @Test func wrongElementCountForAQuantizedType() {
        expect(tensorFile(ne: [33, 2], type: GGMLType.q4_0.rawValue, dataBytes: 64),
               .partialBlock(tensor: "w", type: .q4_0, ne0: 33, blockElements: 32),
               "tensor 'w': row length ne[0] = 33 is not a multiple of Q4_0's block of 32 elements")
    }

    @Test func oversizedOrInvalidDimensions() {
        expect(tensorFile(ne: [1 << 62, 1 << 62], dataBytes: 32), .sizeOverflow(tensor: "w", ne: [1 << 62, 1 << 62]),
               "tensor 'w': dimensions [4611686018427387904, 4611686018427387904] overflow the element or byte count")
        expect(tensorFile(ne: [1 << 62], dataBytes: 32), .sizeOverflow(tensor: "w", ne: [1 << 62]),
               "tensor 'w': dimensions [4611686018427387904] overflow the element or byte count")
        expect(tensorFile(ne: [4, 1 << 63], dataBytes: 32), .invalidDimension(tensor: "w", index: 1, value: 1 << 63),
               "tensor 'w': ne[1] is 9223372036854775808 (allowed: 1...9223372036854775807)")
        expect(tensorFile(ne: [0], dataBytes: 32), .invalidDimension(tensor: "w", index: 0, value: 0),
               "tensor 'w': ne[0] is 0 (allowed: 1...9223372036854775807)")
        expect(tensorFile(ne: [1, 1, 1, 1, 1], dataBytes: 32), .invalidDimensionCount(tensor: "w", offset: 33, count: 5),
               "tensor 'w': n_dims at byte 33 is 5 (allowed: 1...4)")
        expect(tensorFile(ne: [], dataBytes: 32), .invalidDimensionCount(tensor: "w", offset: 33, count: 0),
               "tensor 'w': n_dims at byte 33 is 0 (allowed: 1...4)")
    }

    @Test func unknownTensorType() {
        let bytes = tensorFile(ne: [32], type: 4, dataBytes: 32)
        let error = files.openingError(bytes, "type4.gguf") as? GGUFError
        #expect(error?.problem == .unknownTensorType(tensor: "w", offset: 45, type: 4))
        #expect(error?.problem.description.hasPrefix("tensor 'w': ggml type 4 at byte 45 is unknown (allowed: 0 F32, 1 F16, 2 Q4_0, 3 Q4_1, 6 Q5_0") == true)
    }
}
