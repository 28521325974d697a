import Foundation
import Testing
@testable import Tensors

/// The readers that take a path also read bytes already in memory (what the fuzz harnesses
/// use): same tensors, same typed errors, with the given name in place of the path.
@Suite struct InMemoryReaderTests {
    func bytes(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }

    @Test func safetensorsFromBytesMatchesTheFile() throws {
        let t = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        let encoded = SafeTensorsWriter.encode(["w": .float(t), "h": .float16(t), "i": .int64(IndexTensor(shape: [2], values: [7, -8]))])
        let file = try encoded.withUnsafeBytes { try SafeTensorsFile(bytes: $0, name: "memory.safetensors") }
        #expect(file.path == "memory.safetensors" && file.names == ["h", "i", "w"])
        #expect(try file.tensor("w").scalars == t.scalars && file.tensor("h").scalars == t.scalars)
        #expect(try file.integers("i").values == [7, -8])
        let truncated = Array(encoded.prefix(5))
        #expect(throws: SafeTensorsError.truncated(path: "cut", reason: "5 bytes, need at least 8 for the header length")) {
            try truncated.withUnsafeBytes { try SafeTensorsFile(bytes: $0, name: "cut") }
        }
        // The copy outlives the caller's buffer.
        let outlived = try [UInt8](encoded).withUnsafeBytes { try SafeTensorsFile(bytes: $0, name: "copy") }
        #expect(try outlived.tensor("w").scalars == t.scalars)
    }

    /// The payload is little-endian whatever the host: 1.0 as F32 is 00 00 80 3F, as F16 00 3C;
    /// -2 as I64 is FE FF … FF.
    @Test func safetensorsPayloadsAreLittleEndian() throws {
        let one = Tensor(shape: [1], values: [1])
        func payload(_ item: SafeTensorsWriter.Item) -> [UInt8] {
            let encoded = SafeTensorsWriter.encode(["x": item])
            let headerLength = encoded.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
            return Array(encoded[(8 + headerLength)...])
        }
        #expect(payload(.float(one)) == [0x00, 0x00, 0x80, 0x3F])
        #expect(payload(.float16(one)) == [0x00, 0x3C])
        #expect(payload(.int64(IndexTensor(shape: [1], values: [-2]))) == [0xFE] + [UInt8](repeating: 0xFF, count: 7))
    }

    @Test func ggufFromBytesMatchesTheFile() throws {
        var w = try GGUFWriter()
        w.set("general.architecture", .string("none"))
        try w.add("t", Tensor(shape: [2, 2], values: [1, -1, 0.5, 4]))
        let file = try w.encode().withUnsafeBytes { try GGUFFile(bytes: $0, name: "memory.gguf") }
        #expect(file.path == "memory.gguf" && file.metadata["general.architecture"]?.stringValue == "none")
        #expect(try file.tensor("t").scalars == [1, -1, 0.5, 4])
        let error = try #require(throws: GGUFError.self) { try [UInt8]("GGUX".utf8).withUnsafeBytes { try GGUFFile(bytes: $0, name: "bad.gguf") } }
        #expect(error.path == "bad.gguf")
        #expect(throws: GGUFError.self) { try [UInt8]().withUnsafeBytes { try GGUFFile(bytes: $0, name: "empty.gguf") } }
    }

    @Test func torchCheckpointFromBytesMatchesTheFile() throws {
        let path = TorchFixtures.path("state_dict.pt")
        let fromFile = try TorchCheckpoint(path: path).tensors
        let fromBytes = try bytes(path).withUnsafeBytes { try TorchCheckpoint(bytes: $0, name: "memory.pt") }.tensors
        #expect(Set(fromBytes.keys) == Set(fromFile.keys) && !fromFile.isEmpty)
        for (name, t) in fromFile { #expect(fromBytes[name]?.scalars == t.scalars && fromBytes[name]?.shape == t.shape) }
        #expect(throws: TorchCheckpointError.self) { try [UInt8]().withUnsafeBytes { try TorchCheckpoint(bytes: $0, name: "empty.pt") } }
    }
}

/// A pickle whose list contains itself (through the memo) no longer leaks: the fuzz harness's
/// LeakSanitizer found the cycle (Tests/Fixtures/torch/cyclic.pt holds one too).
@Suite struct TorchPickleCycleTests {
    @Test func selfContainingListIsReleased() throws {
        // PROTO 2, EMPTY_LIST, BINPUT 0, BINGET 0, APPEND, STOP: l = []; l.append(l).
        let pickle: [UInt8] = [0x80, 0x02, 0x5D, 0x71, 0x00, 0x68, 0x00, 0x61, 0x2E]
        weak var released: TorchPickleList?
        try pickle.withUnsafeBytes { bytes in
            var machine = TorchPickleMachine(bytes: bytes) { _, _, _, _ in throw TorchCheckpointError.invalidTensor(reason: "none expected") }
            guard case .list(let list) = try machine.run() else { Issue.record("expected a list"); return }
            #expect(list.items.count == 1)
            released = list
            machine.breakCycles()
        }
        #expect(released == nil)
        #expect(TorchFixtures.error("cyclic.pt") == .limitExceeded(what: "nesting depth", limit: TorchCheckpoint.maximumDepth, offset: -1))
    }
}
