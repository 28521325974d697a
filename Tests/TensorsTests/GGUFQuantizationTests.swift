import Testing
import Foundation
@testable import Tensors

/// Block layouts checked by hand (the golden suite compares every type with gguf-py as well).
@Suite struct GGUFQuantizationTests {
    /// qs[j] = j | (15 − j) << 4: element j holds nibble j, element j + 16 nibble 15 − j.
    static let nibbles: [UInt8] = (0..<16).map { UInt8($0 | ((15 - $0) << 4)) }
    static func nibble(_ i: Int) -> Float { Float(i < 16 ? i : 31 - i) }

    @Test func q4BlocksPutLowNibblesFirst() throws {
        let q40 = try GGMLType.q4_0.dequantize(Half.bytes(Half.half) + Self.nibbles, shape: [32]).scalars
        #expect(q40 == (0..<32).map { 0.5 * (Self.nibble($0) - 8) })
        let q41 = try GGMLType.q4_1.dequantize(Half.bytes(Half.half) + Half.bytes(Half.minusOne) + Self.nibbles, shape: [32]).scalars
        #expect(q41 == (0..<32).map { 0.5 * Self.nibble($0) - 1 })
    }

    @Test func q5BlocksTakeTheFifthBitFromQh() throws {
        let qh: [UInt8] = [0b1010_1010, 0, 0, 0b1000_0000]  // bits 1, 3, 5, 7 and 31
        let high: Set<Int> = [1, 3, 5, 7, 31]
        func q(_ i: Int) -> Float { Self.nibble(i) + (high.contains(i) ? 16 : 0) }
        let q50 = try GGMLType.q5_0.dequantize(Half.bytes(Half.one) + qh + Self.nibbles, shape: [32]).scalars
        #expect(q50 == (0..<32).map { q($0) - 16 })
        let q51 = try GGMLType.q5_1.dequantize(Half.bytes(Half.quarter) + Half.bytes(Half.one) + qh + Self.nibbles, shape: [32]).scalars
        #expect(q51 == (0..<32).map { 0.25 * q($0) + 1 })
    }

    @Test func elementTypes() throws {
        #expect(try GGMLType.bf16.dequantize([0x80, 0x3F, 0x00, 0xC0], shape: [2]).scalars == [1, -2])
        #expect(try GGMLType.f16.dequantize([0x01, 0x00, 0x00, 0x7C], shape: [2]).scalars == [5.960464477539063e-08, .infinity])
        let f32 = [Float(1.5), -3].withUnsafeBytes { Array($0) }
        #expect(try GGMLType.f32.dequantize(f32, shape: [1, 2]).scalars == [1.5, -3])
    }

    /// Q4_K with d = 1, dmin = 0.5, group scales 2 (groups 0–3) and 3 (4–7), mins 1.
    @Test func q4KUsesSixBitScalesAndMins() throws {
        let scales: [UInt8] = [2, 2, 2, 2, 1, 1, 1, 1, 0x13, 0x13, 0x13, 0x13]
        let qs: [UInt8] = (0..<128).map { UInt8($0 % 16) | UInt8((15 - $0 % 16) << 4) }
        let block = Half.bytes(Half.one) + Half.bytes(Half.half) + scales + qs
        let x = try GGMLType.q4_K.dequantize(block, shape: [256]).scalars
        let expected: [Float] = (0..<256).map { i in
            let (s, j) = ((i / 32) % 2, i % 32)
            let q = s == 0 ? j % 16 : 15 - j % 16
            return Float(i / 32 < 4 ? 2 : 3) * Float(q) - 0.5
        }
        #expect(x == expected)
    }

    @Test func parallelSplitMatchesBlockByBlock() throws {
        var generator = RandomGenerator(seed: 7)
        let blocks = 8192
        var raw: [UInt8] = []
        for b in 0..<blocks {
            raw += Half.bytes(UInt16(0x2000 + b % 0x1000)) + Half.bytes(UInt16(0xA000 + b % 0x800))
            raw += (0..<16).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        }
        let whole = try GGMLType.q4_1.dequantize(raw, shape: [blocks, 32]).scalars
        for b in stride(from: 0, to: blocks, by: 997) {
            let one = try GGMLType.q4_1.dequantize(Array(raw[(b * 20)..<(b * 20 + 20)]), shape: [32]).scalars
            #expect(Array(whole[(b * 32)..<(b * 32 + 32)]) == one, "block \(b)")
        }
    }

    @Test func refusesWrongByteCountsAndTypes() {
        #expect(throws: GGUFError(path: nil, .byteCountMismatch(type: .q8_0, elements: 32, expectedBytes: 34, actualBytes: 33))) {
            try GGMLType.q8_0.dequantize([UInt8](repeating: 0, count: 33), shape: [32])
        }
        #expect(throws: GGUFError(path: nil, .byteCountMismatch(type: .q8_0, elements: 16, expectedBytes: nil, actualBytes: 34))) {
            try GGMLType.q8_0.dequantize([UInt8](repeating: 0, count: 34), shape: [16])
        }
        #expect(throws: GGUFError(path: nil, .byteCountMismatch(type: .f32, elements: -1, expectedBytes: nil, actualBytes: 0))) {
            try GGMLType.f32.dequantize([], shape: [-1])
        }
        let error = GGUFError(path: nil, .cannotDequantize(tensor: nil, type: .q8_K))
        #expect(throws: error) { try GGMLType.q8_K.dequantize([UInt8](repeating: 0, count: 292), shape: [256]) }
        #expect(error.description.hasPrefix("type Q8_K has no Float32 conversion"))
    }
}
