import Testing
import Foundation
@testable import Tensors

@Suite struct GGUFReaderTests {
    let files = GGUFTestFiles()

    /// One value of each of the 13 metadata types, an empty typed array and a nested array.
    static let allValues: [(String, GGUFValue)] = [
        ("general.architecture", .string("llama")), ("u8", .uint8(200)), ("i8", .int8(-5)), ("u16", .uint16(65_000)),
        ("i16", .int16(-30_000)), ("u32", .uint32(4_000_000_000)), ("i32", .int32(-7)), ("f32", .float32(1e-5)),
        ("flag", .bool(true)), ("u64", .uint64(1 << 40)), ("i64", .int64(-(1 << 40))), ("f64", .float64(0.1)),
        ("tokens", .array(.string, [.string("a"), .string("é"), .string("")])), ("empty", .array(.float32, [])),
        ("scores", .array(.float32, [.float32(-1.5), .float32(2)])),
        ("nested", .array(.array, [.array(.int32, [.int32(1), .int32(2)]), .array(.int32, [])])),
    ]

    /// A Q8_0 block: d = 0.25, qs = -16...15.
    static let q8Block: [UInt8] = Half.bytes(Half.quarter) + (0..<32).map { UInt8(bitPattern: Int8($0 - 16)) }

    func writeSample(alignment: Int = 64) throws -> (String, Tensor) {
        var writer = try GGUFWriter(alignment: alignment)
        for (key, value) in GGUFReaderTests.allValues { writer.set(key, value) }
        let matrix = Tensor(shape: [2, 3], values: [1, -2, 3.5, 0, 1e-3, 65504])
        try writer.add("matrix", matrix)
        try writer.add("half", type: .f16, ne: [2], data: Half.bytes(Half.one) + Half.bytes(Half.minusOne))
        try writer.add("q8", type: .q8_0, ne: [32, 2], data: GGUFReaderTests.q8Block + GGUFReaderTests.q8Block)
        try writer.add("scalar", Tensor(scalar: 7))
        let path = files.directory + "/sample.gguf"
        try writer.write(to: path)
        return (path, matrix)
    }

    @Test func roundTripsMetadataAndTensors() throws {
        let (path, matrix) = try writeSample()
        let f = try GGUFFile(path: path)
        #expect(f.version == 3)
        #expect(f.alignment == 64)
        #expect(f.metadataKeys == ["general.alignment"] + GGUFReaderTests.allValues.map(\.0))
        for (key, value) in GGUFReaderTests.allValues { #expect(f.metadata[key] == value, "\(key)") }
        #expect(f.names == ["matrix", "half", "q8", "scalar"])
        #expect(f.dataOffset % 64 == 0)
        #expect(f.tensorInfos.allSatisfy { $0.offset % 64 == 0 })
        #expect(try f.shape("matrix") == [2, 3])
        #expect(try f.info("matrix").ne == [3, 2])
        #expect(try f.tensor("matrix").scalars == matrix.scalars)
        #expect(try f.tensor("half").scalars == [1, -1])
        let q8 = try f.tensor("q8")
        #expect(q8.shape == [2, 32])
        let expected: [Float] = (0..<64).map { (i: Int) -> Float in Float(i % 32 - 16) * 0.25 }
        #expect(q8.scalars == expected)
        #expect(try f.tensor("scalar").scalars == [7])
        let raw = try f.rawTensor("q8")
        #expect(raw.bytes == GGUFReaderTests.q8Block + GGUFReaderTests.q8Block)
        #expect(raw.info.rowByteCount == 34 && raw.info.rowCount == 2 && raw.info.byteCount == 68)
        #expect(f.contains("q8") && !f.contains("q9"))
        #expect(throws: GGUFError(path: path, .missingTensor(name: "q9"))) { try f.tensor("q9") }
    }

    @Test func typedMetadataAccessors() throws {
        let (path, _) = try writeSample()
        let f = try GGUFFile(path: path)
        #expect(try f.string("general.architecture") == "llama")
        #expect(try f.int("u32") == 4_000_000_000)
        #expect(try f.int("i8") == -5)
        #expect(try f.float("f32") == 1e-5)
        #expect(try f.double("f64") == 0.1)
        #expect(try f.bool("flag"))
        #expect(try f.strings("tokens") == ["a", "é", ""])
        #expect(try f.floats("scores") == [-1.5, 2])
        #expect(try f.floats("empty") == [])
        #expect(try f.array("nested").count == 2)
        #expect(throws: GGUFError(path: path, .missingKey(key: "nope"))) { try f.int("nope") }
        let wrong = GGUFError(path: path, .wrongValueType(key: "general.architecture", found: "STRING", expected: "an integer type"))
        #expect(throws: wrong) { try f.int("general.architecture") }
        #expect(wrong.description == "\(path): key 'general.architecture' holds STRING, expected an integer type")
        #expect(throws: GGUFError(path: path, .wrongValueType(key: "tokens", found: "ARRAY of STRING", expected: "ARRAY of an integer type"))) {
            try f.ints("tokens")
        }
    }

    @Test func readsVersionTwo() throws {
        var bytes = GGUFTestFiles.bytes(pairs: [("k", .uint32(1))])
        bytes[4] = 2
        let f = try GGUFFile(path: files.write(bytes, "v2.gguf"))
        #expect(f.version == 2)
        #expect(try f.int("k") == 1)
        #expect(f.names.isEmpty)
    }

    @Test func typesWithoutDequantizationStillOpen() throws {
        var writer = try GGUFWriter()
        try writer.add("iq", type: .iq2_XXS, ne: [256], data: [UInt8](repeating: 0, count: 66))
        let path = files.directory + "/iq.gguf"
        try writer.write(to: path)
        let f = try GGUFFile(path: path)
        #expect(try f.rawTensor("iq").bytes.count == 66)
        let error = GGUFError(path: path, .cannotDequantize(tensor: "iq", type: .iq2_XXS))
        #expect(throws: error) { try f.tensor("iq") }
        #expect(error.description.contains("type IQ2_XXS has no Float32 conversion (supported: F32, F16, BF16, Q8_0"))
    }

    @Test func writerRefusesInconsistentTensors() throws {
        var writer = try GGUFWriter()
        #expect(throws: GGUFError(path: nil, .byteCountMismatch(type: .q4_0, elements: 33, expectedBytes: nil, actualBytes: 18))) {
            try writer.add("q", type: .q4_0, ne: [33], data: [UInt8](repeating: 0, count: 18))
        }
        try writer.add("q", type: .q4_0, ne: [32], data: [UInt8](repeating: 0, count: 18))
        #expect(throws: GGUFError(path: nil, .duplicateTensor(name: "q", offset: 0))) {
            try writer.add("q", type: .q4_0, ne: [32], data: [UInt8](repeating: 0, count: 18))
        }
        #expect(throws: GGUFError(path: nil, .invalidAlignment(value: "48"))) { try GGUFWriter(alignment: 48) }
    }

    @Test func typeTableMatchesGGML() {
        #expect(GGMLType.q4_K.name == "Q4_K" && GGMLType(name: "IQ2_XXS") == .iq2_XXS && GGMLType(name: "Q4_2") == nil)
        let sizes = GGMLType.dequantizable.map { "\($0.name) \($0.blockElements)/\($0.blockBytes)" }
        #expect(sizes == ["F32 1/4", "F16 1/2", "BF16 1/2", "Q8_0 32/34", "Q4_0 32/18", "Q4_1 32/20", "Q5_0 32/22",
                          "Q5_1 32/24", "Q2_K 256/84", "Q3_K 256/110", "Q4_K 256/144", "Q5_K 256/176", "Q6_K 256/210"])
        #expect(GGMLType.q4_1.byteCount(elements: 64) == 40 && GGMLType.q4_1.byteCount(elements: 48) == nil)
        #expect(GGUFValueType.allCases.count == 13)
    }
}
