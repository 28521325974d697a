import Testing
import Foundation
@testable import Tensors

/// Float32 safetensors data read in place from the mapping: the same bits as a copy, only where
/// aligned and Float32, alive as long as a tensor uses it, and never written.
@Suite struct SafeTensorsMappingTests {
    let directory: String = {
        let d = NSTemporaryDirectory() + "intervene-safetensors-mapping-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }()

    /// Values with awkward bit patterns: ±0, ±∞, a NaN with payload, subnormals, extremes.
    static let special: [Float] = [0, -0.0, .infinity, -.infinity, Float(bitPattern: 0x7fc0_1234), .leastNonzeroMagnitude,
                                   -.leastNormalMagnitude, .greatestFiniteMagnitude, 1, -2.5, 1e-20, 3.14159]

    func randomTensor(_ shape: [Int], seed: UInt64) -> Tensor {
        var g = RandomGenerator(seed: seed)
        return Tensor(shape: shape, values: (0..<shape.reduce(1, *)).map { _ in g.nextNormal() })
    }

    func bits(_ t: Tensor) -> [UInt32] { t.scalars.map(\.bitPattern) }

    /// A file whose header is `header` (padded with spaces to `headerLength`) followed by `data`.
    func rawFile(header: String, headerLength: Int, data: [UInt8], name: String) -> String {
        var h = Array(header.utf8)
        while h.count < headerLength { h.append(0x20) }
        var bytes: [UInt8] = []
        var n = UInt64(h.count)
        for _ in 0..<8 { bytes.append(UInt8(n & 0xff)); n >>= 8 }
        let path = directory + "/" + name
        FileManager.default.createFile(atPath: path, contents: Data(bytes + h + data))
        return path
    }

    @Test func mappedTensorsEqualCopiesBitForBit() throws {
        let items: [String: Tensor] = ["a.weight": randomTensor([7, 5], seed: 1), "b": Tensor(shape: [12], values: Self.special),
                                       "c": randomTensor([3, 1, 4], seed: 2), "scalar": Tensor(shape: [], values: [-7.25])]
        let path = directory + "/bits.safetensors"
        try SafeTensorsWriter.write(items.mapValues { .float($0) }, to: path)
        let file = try SafeTensorsFile(path: path)
        for (name, original) in items {
            let mapped = try file.tensor(name), copied = try file.tensor(name, copying: true)
            #expect(mapped.borrowsMemory, "\(name)")
            #expect(!copied.borrowsMemory, "\(name)")
            #expect(mapped.shape == original.shape && copied.shape == original.shape)
            #expect(bits(mapped) == bits(original), "\(name)")
            #expect(bits(copied) == bits(mapped), "\(name)")
        }
    }

    @Test func inMemoryBytesAreReadInPlaceFromTheReadersOwnCopy() throws {
        let t = Tensor(shape: [12], values: Self.special)
        var encoded = SafeTensorsWriter.encode(["t": .float(t)])
        let file = try encoded.withUnsafeBytes { try SafeTensorsFile(bytes: $0, name: "memory") }
        for i in encoded.indices { encoded[i] = 0xAB }  // the reader copied the bytes
        let read = try file.tensor("t")
        #expect(read.borrowsMemory)
        #expect(bits(read) == bits(t))
    }

    @Test func misalignedFloat32IsCopied() throws {
        // The header is padded so that the data section starts 2 bytes past a multiple of 4:
        // data_offsets [0, 8] are misaligned, [2, 10] aligned.
        let values: [Float] = [1.5, -3]
        let payload = values.withUnsafeBytes { Array($0) }
        for (begin, aligned) in [(0, false), (2, true)] {
            let header = #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[\#(begin),\#(begin + 8)]}}"#
            var length = header.utf8.count
            while (8 + length) % 4 != 2 { length += 1 }
            let path = rawFile(header: header, headerLength: length, data: Array(repeating: 0, count: begin) + payload,
                               name: "offset-\(begin).safetensors")
            let t = try SafeTensorsFile(path: path).tensor("w")
            #expect(t.borrowsMemory == aligned, "begin \(begin)")
            #expect(t.scalars == values)
        }
    }

    @Test func otherDTypesAndEmptyTensorsAreCopied() throws {
        let t = randomTensor([4, 3], seed: 3)
        let path = directory + "/dtypes.safetensors"
        try SafeTensorsWriter.write(["half": .float16(t), "empty": .float(Tensor(shape: [0, 3], values: []))], to: path)
        let file = try SafeTensorsFile(path: path)
        let half = try file.tensor("half"), empty = try file.tensor("empty")
        #expect(!half.borrowsMemory && !empty.borrowsMemory)
        #expect(empty.shape == [0, 3])
        #expect(zip(half.scalars, t.scalars).allSatisfy { abs($0 - $1) <= abs($1) * 1e-3 })
        // F64 and BF16, hand-written: 1.5 and −2 as doubles, 1 and −2 as bfloat16.
        let doubles = [1.5, -2.0].withUnsafeBytes { Array($0) }
        let header = #"{"d":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[16,20]}}"#
        let path2 = rawFile(header: header, headerLength: (header.utf8.count + 7) / 8 * 8, data: doubles + [0x80, 0x3F, 0x00, 0xC0], name: "f64.safetensors")
        let file2 = try SafeTensorsFile(path: path2)
        let d = try file2.tensor("d"), b = try file2.tensor("b")
        #expect(!d.borrowsMemory && !b.borrowsMemory)
        #expect(d.scalars == [1.5, -2] && b.scalars == [1, -2])
    }

    @Test func mappingOutlivesTheFileObject() throws {
        let original = randomTensor([33, 7], seed: 4)
        let path = directory + "/alive.safetensors"
        try SafeTensorsWriter.write(["w": .float(original)], to: path)
        let t = try SafeTensorsFile(path: path).tensor("w")  // the file object is gone after this line
        try FileManager.default.removeItem(atPath: path)      // and so is the file's name
        #expect(t.borrowsMemory)
        #expect(bits(t) == bits(original))
        #expect(bits(t.transposed().contiguous().transposed()) == bits(original))
    }

    @Test func inPlaceWritesCopyFirstAndNeverReachTheFile() throws {
        let original = randomTensor([16, 8], seed: 5)
        let path = directory + "/cow.safetensors"
        try SafeTensorsWriter.write(["w": .float(original), "v": .float(Tensor([1, 2, 3]))], to: path)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let file = try SafeTensorsFile(path: path)
        var a = try file.tensor("w")
        let b = try file.tensor("w")  // a second tensor over the same bytes
        a.withUnsafeMutableElements { for i in $0.indices { $0[i] = -$0[i] + 1 } }
        #expect(!a.borrowsMemory)
        #expect(b.borrowsMemory)
        #expect(bits(b) == bits(original))
        #expect(a.scalars == original.scalars.map { -$0 + 1 })
        // Parameter.assign, an optimizer's in-place step and addInPlace.
        let p = Parameter(try file.tensor("w"))
        let q = Parameter(Tensor.zeros([16, 8]))
        q.assign(try file.tensor("w"))
        #expect(q.value.borrowsMemory)
        let sgd = SGD([p, q], learningRate: 0.5)
        for _ in 0..<3 {
            sgd.zeroGrad()
            ((p.value.square().sum() + (q.value * 2).sum())).backward()
            sgd.step()
        }
        #expect(!p.value.borrowsMemory && !q.value.borrowsMemory)
        #expect(p.value.scalars != original.scalars && q.value.scalars != original.scalars)
        var c = try file.tensor("v")
        c.addInPlace(Tensor([1, 1, 1]))
        #expect(c.scalars == [2, 3, 4])
        #expect(try file.tensor("w").scalars == original.scalars)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        #expect(try SafeTensorsFile(path: path).tensor("w").scalars == original.scalars)
    }

    @Test func truncatedAndMalformedFilesStillThrowTypedErrors() throws {
        let path = directory + "/whole.safetensors"
        try SafeTensorsWriter.write(["w": .float(randomTensor([64], seed: 6))], to: path)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let cut = directory + "/cut.safetensors"
        FileManager.default.createFile(atPath: cut, contents: Data(bytes.dropLast(100)))
        let dataSize = bytes.count - 100 - 8 - (Int(bytes[0]) | Int(bytes[1]) << 8)
        #expect(throws: SafeTensorsError.dataOutOfBounds(tensor: "w", begin: 0, end: 256, dataSize: dataSize)) { try SafeTensorsFile(path: cut) }
        bytes.dropLast(100).withUnsafeBytes { raw in
            #expect(throws: SafeTensorsError.dataOutOfBounds(tensor: "w", begin: 0, end: 256, dataSize: dataSize)) {
                try SafeTensorsFile(bytes: raw, name: "cut")
            }
        }
        bytes[9] = 0x7B  // break the JSON header: {" becomes {{
        bytes.withUnsafeBytes { raw in
            #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(bytes: raw, name: "broken") }
        }
    }
}
