import Testing
import Foundation
@testable import Tensors

/// Every cut and many random corruptions of a well-formed file either open or throw a
/// `GGUFError` — never a trap, a crash or an out-of-bounds read.
@Suite struct GGUFRobustnessTests {
    let files = GGUFTestFiles()

    /// A small file with metadata of several types and tensors of several block types.
    func sample() throws -> (bytes: [UInt8], dataEnd: Int) {
        var writer = try GGUFWriter()
        writer.set("general.architecture", .string("llama"))
        writer.set("llama.block_count", .uint32(2))
        writer.set("tokenizer.ggml.tokens", .array(.string, ["<s>", "a", "bc"].map { .string($0) }))
        writer.set("nested", .array(.array, [.array(.float32, [.float32(1)])]))
        try writer.add("norm", Tensor([1, 2, 3, 4]))
        try writer.add("q8", type: .q8_0, ne: [32, 2], data: (0..<68).map { UInt8($0) })
        try writer.add("q4k", type: .q4_K, ne: [256], data: (0..<144).map { UInt8(($0 * 7) % 256) })
        let bytes = writer.encode()
        let f = try GGUFFile(path: files.write(bytes, "sample.gguf"))
        let last = f.tensorInfos.max { $0.offset < $1.offset }!
        return (bytes, f.dataOffset + last.offset + last.byteCount)
    }

    /// Opens `bytes` and dequantizes whatever opens; fails on anything but a `GGUFError`.
    func openAndRead(_ bytes: [UInt8], _ name: String) -> Bool {
        do {
            let f = try GGUFFile(path: files.write(bytes, name))
            for n in f.names { _ = try? f.tensor(n) }
            return true
        } catch is GGUFError {
            return false
        } catch {
            Issue.record("\(name): \(error) is not a GGUFError")
            return false
        }
    }

    @Test func everyTruncationThrows() throws {
        let (bytes, dataEnd) = try sample()
        for length in 0..<dataEnd {
            #expect(!openAndRead(Array(bytes.prefix(length)), "cut.gguf"), "a file cut at \(length) bytes opened")
        }
        #expect(openAndRead(Array(bytes.prefix(dataEnd)), "whole.gguf"))
    }

    @Test func randomCorruptionNeverTraps() throws {
        let (bytes, _) = try sample()
        var generator = RandomGenerator(seed: 42)
        var opened = 0
        for trial in 0..<400 {
            var copy = bytes
            for _ in 0..<(1 + generator.nextInt(below: 4)) {
                let position = generator.nextInt(below: trial % 2 == 0 ? 400 : copy.count)
                copy[position] = UInt8(truncatingIfNeeded: generator.next())
            }
            if openAndRead(copy, "corrupt.gguf") { opened += 1 }
        }
        #expect(opened > 0 && opened < 400, "\(opened) of 400 corrupted files opened")
    }
}
