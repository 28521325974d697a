import Testing
import Foundation
@testable import Tensors

/// Damaged inputs must end in a typed error, never a crash or an out-of-bounds read.
@Suite struct TorchCheckpointRobustnessTests {
    func fixtureBytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: TorchFixtures.path(name))))
    }

    /// Opens `bytes` as an archive and runs its pickle, with a stand-in for tensor rebuilding.
    func decode(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { raw in
            let archive = try TorchZipArchive(path: "memory", bytes: raw)
            guard let name = archive.names.first(where: { $0.hasSuffix("data.pkl") }) else {
                throw TorchCheckpointError.missingEntry(name: "data.pkl")
            }
            var machine = TorchPickleMachine(bytes: try archive.data(name)) { storage, _, _, _ in
                TorchTensor(dtype: storage.dtype, tensor: Tensor(shape: [1], values: [0]))
            }
            var budget = 1000
            _ = try TorchCheckpoint.convert(try machine.run(), depth: 0, budget: &budget)
        }
    }

    @Test func everyTruncatedPickleThrowsATypedError() throws {
        let pickle = try fixtureBytes("nested.pt").withUnsafeBytes { raw -> [UInt8] in
            let archive = try TorchZipArchive(path: "nested.pt", bytes: raw)
            return Array(try archive.data("nested/data.pkl"))
        }
        for length in 0..<pickle.count {
            let prefix = Array(pickle[0..<length])
            let thrown = prefix.withUnsafeBytes { raw -> Bool in
                var machine = TorchPickleMachine(bytes: raw) { s, _, _, _ in TorchTensor(dtype: s.dtype, tensor: Tensor(shape: [1], values: [0])) }
                do { _ = try machine.run(); return false } catch is TorchCheckpointError { return true } catch { return false }
            }
            #expect(thrown, "prefix of \(length) bytes")
        }
    }

    @Test func corruptedBytesThrowTypedErrorsOnly() throws {
        let original = try fixtureBytes("state_dict.pt")
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15  // fixed seed: the same damage every run
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(state >> 33)
        }
        for trial in 0..<400 {
            var bytes = original
            // Damage the pickle (start of the file) and the central directory (end of the file).
            let position = trial % 2 == 0 ? next() % 800 : bytes.count - 1 - next() % 900
            bytes[position] = UInt8(truncatingIfNeeded: next())
            do { try decode(bytes) } catch is TorchCheckpointError {} catch {
                Issue.record("byte \(position): unexpected \(error)")
            }
        }
    }
}
