import Foundation
import Intervene
import Models
import Tensors

/// Helpers shared by the libFuzzer harnesses: input splitting, a tiny model, seed writing.
public enum Fuzz {
    /// libFuzzer's input as a raw buffer.
    public static func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: data, count: size)
    }

    /// The bytes before the first NUL and, when there is one, the bytes after it. Harnesses whose
    /// input is a JSON document plus a binary file use a NUL as the separator (JSON text has none).
    public static func splitAtFirstNUL(_ bytes: UnsafeRawBufferPointer) -> (head: UnsafeRawBufferPointer, tail: UnsafeRawBufferPointer?) {
        guard let i = bytes.firstIndex(of: 0) else { return (bytes, nil) }
        return (UnsafeRawBufferPointer(rebasing: bytes[..<i]), UnsafeRawBufferPointer(rebasing: bytes[(i + 1)...]))
    }

    /// A tiny random GPT-2 (width 16, 2 layers, 2 heads, vocabulary 40, 24 positions).
    public static func tinyGPT2() -> DecoderModel {
        let model = try! GPT2Family.model(GPT2Family.config(vocabularySize: 40, positions: 24, width: 16, layers: 2, heads: 2))
        model.initializeRandomly(seed: 1, std: 0.3)
        return model
    }

    /// Base and source token ids (2, 6) for the tiny model.
    public static let baseTokens = IndexTensor(shape: [2, 6], values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
    public static let sourceTokens = IndexTensor(shape: [2, 6], values: [13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24])

    /// The repository root (found from this file's path at build time).
    public static let repository: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// Seed mode: when the environment variable FUZZ_WRITE_SEEDS names a directory, writes each
    /// seed `make()` returns there (file name → bytes) and exits; otherwise does nothing.
    public static func writeSeedsIfAsked(_ make: () throws -> [String: [UInt8]]) {
        guard let directory = ProcessInfo.processInfo.environment["FUZZ_WRITE_SEEDS"] else { return }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            for (name, bytes) in try make() {
                try Data(bytes).write(to: URL(fileURLWithPath: directory + "/" + name))
                print("wrote \(directory)/\(name) (\(bytes.count) bytes)")
            }
            exit(0)
        } catch {
            print("cannot write seeds: \(error)")
            exit(1)
        }
    }
}
