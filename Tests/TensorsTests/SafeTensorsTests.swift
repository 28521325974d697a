import Testing
import Foundation
@testable import Tensors

@Suite struct SafeTensorsTests {
    let directory: String = {
        let d = NSTemporaryDirectory() + "intervene-safetensors-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }()

    func write(_ bytes: [UInt8], _ name: String) -> String {
        let path = directory + "/" + name
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    /// A file with the given header text and data bytes.
    func file(header: String, data: [UInt8] = [], name: String) -> String {
        let h = Array(header.utf8)
        var bytes: [UInt8] = []
        var n = UInt64(h.count)
        for _ in 0..<8 { bytes.append(UInt8(n & 0xff)); n >>= 8 }
        return write(bytes + h + data, name)
    }

    @Test func roundTripsFloatHalfAndIntegerTensors() throws {
        let a = Tensor(shape: [2, 3], values: [1, -2, 3.5, 0, 1e-3, 65504])
        let path = directory + "/round.safetensors"
        try SafeTensorsWriter.write(["a": .float(a), "h": .float16(a), "i": .int64(IndexTensor(shape: [3], values: [-1, 0, 1 << 40]))],
                                    metadata: ["format": "pt"], to: path)
        let f = try SafeTensorsFile(path: path)
        #expect(f.names == ["a", "h", "i"])
        #expect(f.metadata["format"] == "pt")
        #expect(try f.tensor("a").scalars == a.scalars)
        let h = try f.tensor("h").scalars
        #expect(zip(h, a.scalars).allSatisfy { abs($0 - $1) <= abs($1) * 1e-3 })
        #expect(try f.integers("i").values == [-1, 0, 1 << 40])
        #expect(throws: SafeTensorsError.missingTensor(name: "zz", path: path)) { try f.tensor("zz") }
        #expect(throws: SafeTensorsError.self) { try f.tensor("i") }
    }

    @Test func readsBFloat16() throws {
        // 1.0 = 0x3F80, -2.0 = 0xC000 in bfloat16.
        let path = file(header: #"{"b":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}"#, data: [0x80, 0x3F, 0x00, 0xC0], name: "bf16.safetensors")
        #expect(try SafeTensorsFile(path: path).tensor("b").scalars == [1, -2])
    }

    @Test func rejectsTruncatedFile() {
        let path = write([1, 2, 3], "short.safetensors")
        #expect(throws: SafeTensorsError.truncated(path: path, reason: "3 bytes, need at least 8 for the header length")) {
            try SafeTensorsFile(path: path)
        }
    }

    @Test func rejectsOversizedHeader() {
        var bytes: [UInt8] = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]
        bytes += Array("{}".utf8)
        let path = write(bytes, "oversized.safetensors")
        #expect(throws: SafeTensorsError.headerTooLarge(path: path, declared: 0x7fff_ffff_ffff_ffff, available: 2)) {
            try SafeTensorsFile(path: path)
        }
    }

    @Test func rejectsNonJSONHeader() {
        let path = file(header: "not json at all", name: "nonjson.safetensors")
        #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(path: path) }
        do { _ = try SafeTensorsFile(path: path) } catch let e as SafeTensorsError {
            guard case .invalidHeader = e else { Issue.record("expected invalidHeader, got \(e)"); return }
        } catch { Issue.record("unexpected \(error)") }
    }

    @Test func rejectsOverlappingOffsets() {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        let path = file(header: header, data: [UInt8](repeating: 0, count: 12), name: "overlap.safetensors")
        #expect(throws: SafeTensorsError.overlapping(first: "a", second: "b")) { try SafeTensorsFile(path: path) }
    }

    @Test func rejectsOutOfRangeOffsets() {
        let header = #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#
        let path = file(header: header, data: [UInt8](repeating: 0, count: 8), name: "range.safetensors")
        #expect(throws: SafeTensorsError.dataOutOfBounds(tensor: "a", begin: 0, end: 16, dataSize: 8)) { try SafeTensorsFile(path: path) }
    }

    @Test func rejectsWrongDType() {
        let header = #"{"a":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}}"#
        let path = file(header: header, data: [0, 0], name: "dtype.safetensors")
        #expect(throws: SafeTensorsError.unsupportedDType(tensor: "a", dtype: "F8_E4M3")) { try SafeTensorsFile(path: path) }
    }

    @Test func rejectsShapeThatDisagreesWithOffsets() {
        let header = #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#
        let path = file(header: header, data: [UInt8](repeating: 0, count: 8), name: "size.safetensors")
        #expect(throws: SafeTensorsError.sizeMismatch(tensor: "a", expectedBytes: 12, actualBytes: 8)) { try SafeTensorsFile(path: path) }
        let negative = file(header: #"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}"#, name: "neg.safetensors")
        #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(path: negative) }
        let overflow = file(header: #"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}"#, name: "of.safetensors")
        #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(path: overflow) }
    }

    @Test func rejectsMissingFile() {
        #expect(throws: FileError.self) { try SafeTensorsFile(path: directory + "/none.safetensors") }
    }
}
