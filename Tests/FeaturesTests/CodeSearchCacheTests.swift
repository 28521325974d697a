import Foundation
import Testing
import Features
import Tensors

/// The cache folder format: written, read back unchanged, and refused when damaged.
@Suite struct CodeSearchCacheTests {
    let model = CodebookCacheManifest.Model(type: "gpt2", fingerprint: "intervene-fp1:0000000000000001", source: "test")

    func temporaryPath() -> String {
        NSTemporaryDirectory() + "codebook-cache-\(UUID().uuidString)"
    }

    @Test func roundTrip() throws {
        let data = try handMadeCodes()
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let written = try CodebookCache.write(data, to: path, model: model, bundle: "cb-bundle", metrics: ["loss": 2.5])
        let (manifest, read) = try CodebookCache.read(from: path)
        #expect(manifest == written)
        #expect(manifest.kind == "codebook-cache" && manifest.version == 1 && manifest.tokens == 9 && manifest.documents == 2)
        #expect(manifest.codebooks == [.init(name: "cb", codes: 4, k: 1, width: nil), .init(name: "cb2", codes: 3, k: 2, width: 2)])
        #expect(read.documents == data.documents)
        #expect(read.codebooks.map(\.ids) == data.codebooks.map(\.ids))
        #expect(read.codebooks[1].vectors?.scalars == data.codebooks[1].vectors?.scalars)
        #expect(read.neurons["n"]?.scalars == data.neurons["n"]?.scalars)
        #expect(try CodeSearch.search(read, pattern: "at") == CodeSearch.search(data, pattern: "at"))
        let files = try FileManager.default.contentsOfDirectory(atPath: path).sorted()
        #expect(files == ["codes.safetensors", "manifest.json", "tokens.json"])
    }

    @Test func damagedCachesAreTypedErrors() throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: CodeAnalysisError.self) { try CodebookCache.read(from: path) }  // no folder
        try CodebookCache.write(try handMadeCodes(), to: path, model: model)
        let manifestPath = path + "/manifest.json"
        let original = try String(contentsOfFile: manifestPath, encoding: .utf8)
        try original.replacingOccurrences(of: "\"version\" : 1", with: "\"version\" : 7").write(toFile: manifestPath, atomically: true, encoding: .utf8)
        #expect(throws: CodeAnalysisError.invalidCache(path: manifestPath, field: "version", found: "7", expected: "1")) {
            try CodebookCache.read(from: path)
        }
        try original.replacingOccurrences(of: "\"tokens\" : 9", with: "\"tokens\" : 10").write(toFile: manifestPath, atomically: true, encoding: .utf8)
        #expect(throws: CodeAnalysisError.self) { try CodebookCache.read(from: path) }
        try original.replacingOccurrences(of: "\"kind\" : \"codebook-cache\"", with: "\"kind\" : \"sae-latents\"")
            .write(toFile: manifestPath, atomically: true, encoding: .utf8)
        #expect(throws: CodeAnalysisError.invalidCache(path: manifestPath, field: "kind", found: "sae-latents", expected: "\"codebook-cache\"")) {
            try CodebookCache.read(from: path)
        }
        // A codes tensor of the wrong shape names the tensor.
        try original.write(toFile: manifestPath, atomically: true, encoding: .utf8)
        try SafeTensorsWriter.write(["tokens": .int64(IndexTensor(shape: [9], values: Array(repeating: 0, count: 9))),
                                     "codes.cb": .int64(IndexTensor(shape: [9, 2], values: Array(repeating: 0, count: 18)))],
                                    to: path + "/codes.safetensors")
        #expect(throws: CodeAnalysisError.invalidCache(path: path + "/codes.safetensors", field: "codes.cb", found: "shape [9, 2]", expected: "shape [9, 1]")) {
            try CodebookCache.read(from: path)
        }
    }
}
