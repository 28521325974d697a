import Testing
import Foundation
@testable import Tensors

/// The committed fixtures in Tests/Fixtures/torch (made by make_torch_fixtures.py with torch).
enum TorchFixtures {
    static let folder: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<2 { url.deleteLastPathComponent() }
        return url.path + "/Fixtures/torch"
    }()

    static func path(_ name: String) -> String { folder + "/" + name }

    /// The expected tensors of one fixture: name → (shape, values).
    static func expected(_ fixture: String) throws -> [String: ([Int], [Float])] {
        let json = try JSONValue.parse(contentsOf: path("expected.json"))
        let object = try #require(json[fixture]?.objectValue)
        var out: [String: ([Int], [Float])] = [:]
        for (name, entry) in object {
            let shape = try #require(entry["shape"]?.arrayValue).compactMap(\.intValue)
            let values = try #require(entry["values"]?.arrayValue).compactMap(\.doubleValue).map { Float($0) }
            out[name] = (shape, values)
        }
        return out
    }

    /// The error thrown when opening `name`, or nil.
    static func error(_ name: String) -> TorchCheckpointError? {
        do { _ = try TorchCheckpoint(path: path(name)) } catch let e as TorchCheckpointError { return e } catch { return nil }
        return nil
    }
}

@Suite struct TorchCheckpointTests {
    func check(_ fixture: String, file: String) throws {
        let tensors = try TorchCheckpoint(path: TorchFixtures.path(file)).tensors
        let expected = try TorchFixtures.expected(fixture)
        #expect(Set(tensors.keys) == Set(expected.keys))
        for (name, (shape, values)) in expected {
            let t = try #require(tensors[name], "missing \(name)")
            #expect(t.shape == shape, "\(name)")
            #expect(t.scalars == values, "\(name)")
        }
    }

    @Test func readsStateDictOfSeveralDTypes() throws {
        try check("state_dict", file: "state_dict.pt")
        let value = try TorchCheckpoint(path: TorchFixtures.path("state_dict.pt")).value
        #expect(value["half"]?.tensorValue?.dtype == .float16)
        #expect(value["bf16"]?.tensorValue?.dtype == .bfloat16)
        #expect(value["long"]?.tensorValue?.dtype == .int64)
        #expect(value["mask"]?.tensorValue?.dtype == .bool)
        #expect(value["char"]?.tensorValue?.dtype == .int8)
        #expect(value["byte"]?.tensorValue?.dtype == .uint8)
    }

    @Test func readsNestedContainersAndPrimitives() throws {
        try check("nested", file: "nested.pt")
        let value = try TorchCheckpoint(path: TorchFixtures.path("nested.pt")).value
        #expect(value["step"]?.intValue == 42)
        #expect(value["big"]?.intValue == -(1 << 40))
        guard case .double(0.125) = value["lr"], case .string("adam") = value["name"], case .some(TorchValue.none) = value["none"] else {
            Issue.record("primitives: \(String(describing: value["lr"])), \(String(describing: value["name"]))")
            return
        }
        let flags = try #require(value["flags"]?.elements)
        guard flags.count == 2, case .bool(true) = flags[0], case .bool(false) = flags[1] else {
            Issue.record("flags: \(flags)")
            return
        }
        #expect(value["layers"]?.elements?.count == 2)
    }

    @Test func readsStridedViewsOfOneStorage() throws {
        try check("views", file: "views.pt")
    }

    @Test func readsModuleStateDictWithMetadata() throws {
        try check("module_state", file: "module_state.pt")
    }

    @Test func readsHandWrittenTensorPickle() throws {
        let t = try #require(TorchCheckpoint(path: TorchFixtures.path("good_handmade.pt")).value.tensorValue)
        #expect(t.tensor.shape == [2, 3])
        #expect(t.tensor.scalars == [0, 1, 2, 3, 4, 5])
    }
}

@Suite struct TorchCheckpointMalformedTests {
    @Test func refusesOsSystem() throws {
        let e = try #require(TorchFixtures.error("os_system.pt"))
        guard case .forbiddenGlobal(let module, "system", _) = e, module == "posix" || module == "os" || module == "nt" else {
            Issue.record("expected forbiddenGlobal for system, got \(e)")
            return
        }
    }

    @Test func refusesBuiltinsEval() throws {
        let e = try #require(TorchFixtures.error("eval.pt"))
        guard case .forbiddenGlobal("builtins", "eval", _) = e else { Issue.record("expected forbiddenGlobal builtins.eval, got \(e)"); return }
    }

    @Test func refusesUnknownOpcode() {
        #expect(TorchFixtures.error("unknown_opcode.pt") == .unknownOpcode(opcode: 0x49, offset: 5))
    }

    @Test func refusesTruncatedZip() throws {
        let e = try #require(TorchFixtures.error("truncated.pt"))
        guard case .truncatedZip = e else { Issue.record("expected truncatedZip, got \(e)"); return }
    }

    @Test func refusesWrongStorageSize() {
        #expect(TorchFixtures.error("wrong_storage_size.pt") == .storageSizeMismatch(key: "0", expectedBytes: 32, actualBytes: 24))
    }

    @Test func refusesViewPastTheStorage() {
        #expect(TorchFixtures.error("out_of_bounds.pt") == .tensorOutOfBounds(key: "0", offset: 1, extent: 6, storageElements: 6))
    }

    @Test func refusesSizeStrideMismatch() {
        #expect(TorchFixtures.error("stride_mismatch.pt") == .invalidTensor(reason: "size has 2 dimensions but stride has 1"))
    }

    @Test func refusesCompressedEntry() {
        #expect(TorchFixtures.error("compressed.pt") == .compressedEntry(name: "archive/data.pkl", method: 8))
    }

    @Test func refusesSelfContainingList() {
        #expect(TorchFixtures.error("cyclic.pt") == .limitExceeded(what: "nesting depth", limit: TorchCheckpoint.maximumDepth, offset: -1))
    }

    @Test func refusesStackUnderflow() {
        #expect(TorchFixtures.error("underflow.pt") == .invalidPickle(reason: "stack underflow", offset: 3))
    }

    @Test func refusesNegativeStride() {
        #expect(TorchFixtures.error("negative_stride.pt") == .invalidTensor(reason: "dimension 1 has negative stride -1"))
    }

    @Test func refusesMissingStorageEntry() {
        #expect(TorchFixtures.error("missing_storage.pt") == .missingEntry(name: "archive/data/0"))
    }

    @Test func refusesZip64EndRecord() throws {
        // An end-of-central-directory record whose entry count is saturated (0xFFFF).
        var record: [UInt8] = [0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]
        record += [UInt8](repeating: 0, count: 10)
        let path = NSTemporaryDirectory() + "intervene-zip64-\(UUID().uuidString).pt"
        FileManager.default.createFile(atPath: path, contents: Data(record))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: TorchCheckpointError.zip64Unsupported(path: path, field: "entry count")) { try TorchCheckpoint(path: path) }
    }
}
