import Foundation
@testable import Tensors

/// Builds GGUF files field by field (valid or not) for the reader tests, and writes them to a
/// fresh temporary folder.
struct GGUFTestFiles {
    let directory: String = {
        let d = NSTemporaryDirectory() + "intervene-gguf-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }()

    /// One tensor info with raw fields.
    struct RawTensor {
        var name: String
        var ne: [UInt64]
        var type: UInt32
        var offset: UInt64
    }

    /// A GGUF file: the preamble, `pairs`, then `extraPairs` written by hand (counted in
    /// `pairCount` when given), the tensor infos, padding to `alignment` and `data`.
    static func bytes(version: UInt32 = 3, tensorCount: UInt64? = nil, pairCount: UInt64? = nil,
                      pairs: [(String, GGUFValue)] = [], extraPairs: (inout GGUFEncoder) -> Void = { _ in },
                      tensors: [RawTensor] = [], alignment: Int = 32, data: [UInt8] = []) -> [UInt8] {
        var e = GGUFEncoder()
        e.bytes += Array("GGUF".utf8)
        e.int(version)
        e.int(tensorCount ?? UInt64(tensors.count))
        e.int(pairCount ?? UInt64(pairs.count))
        for (key, value) in pairs { e.pair(key, value) }
        extraPairs(&e)
        for t in tensors { e.tensorInfo(t.name, ne: t.ne, type: t.type, offset: t.offset) }
        e.pad(to: alignment)
        e.bytes += data
        return e.bytes
    }

    /// Writes `bytes` to a new file and returns its path.
    func write(_ bytes: [UInt8], _ name: String) -> String {
        let path = directory + "/" + name
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    /// Opens `bytes` as a GGUF file and returns the error it throws (nil when it opens).
    func openingError(_ bytes: [UInt8], _ name: String) -> Error? {
        do {
            _ = try GGUFFile(path: write(bytes, name))
            return nil
        } catch {
            return error
        }
    }
}

/// fp16 bit patterns used to build blocks.
enum Half {
    static let one: UInt16 = 0x3C00, half: UInt16 = 0x3800, minusOne: UInt16 = 0xBC00, quarter: UInt16 = 0x3400

    /// Little-endian bytes of `bits`.
    static func bytes(_ bits: UInt16) -> [UInt8] { [UInt8(bits & 0xff), UInt8(bits >> 8)] }
}
