import Foundation
import Intervene
import Tensors

/// What a codebook cache says about itself: `manifest.json` of a `CodebookCache` folder.
public struct CodebookCacheManifest: Codable, Equatable, Sendable {
    /// The model the codes were collected with.
    public struct Model: Codable, Equatable, Sendable {
        /// config.json's model_type.
        public var type: String
        /// The base model's `ModelFingerprint` (inserted layers left out).
        public var fingerprint: String
        /// Where the weights were read from.
        public var source: String
        public init(type: String, fingerprint: String, source: String) {
            self.type = type
            self.fingerprint = fingerprint
            self.source = source
        }
    }

    /// One codebook's entry.
    public struct Codebook: Codable, Equatable, Sendable {
        /// The codebook's name.
        public var name: String
        /// Number of codes C.
        public var codes: Int
        /// Codes selected per token.
        public var k: Int
        /// Width of the code vectors (nil when none were stored).
        public var width: Int?
        public init(name: String, codes: Int, k: Int, width: Int?) {
            self.name = name
            self.codes = codes
            self.k = k
            self.width = width
        }
    }

    /// One neuron table's entry.
    public struct Neurons: Codable, Equatable, Sendable {
        /// The inserted layer's name.
        public var name: String
        /// Activations per token, W.
        public var width: Int
        public init(name: String, width: Int) {
            self.name = name
            self.width = width
        }
    }

    /// Always "codebook-cache".
    public var kind: String
    /// The format version, 1.
    public var version: Int
    /// ISO 8601 time of writing.
    public var created: String
    /// The model the codes were collected with.
    public var model: Model
    /// The codebook bundle the codes came from, if any.
    public var bundle: String?
    /// Number of documents D.
    public var documents: Int
    /// Number of tokens N over all documents.
    public var tokens: Int
    /// The codebooks, in collection order.
    public var codebooks: [Codebook]
    /// The neuron tables stored for the baseline.
    public var neurons: [Neurons]
    /// The files of the folder by role: "text" and "codes".
    public var files: [String: String]
    /// Numbers measured while collecting (e.g. "loss", "L3.mlp.used_codes").
    public var metrics: [String: Double]
}

/// A codebook cache folder: codes collected over a token dataset, written by
/// `intervene codebook cache` and read by `intervene codebook search|codes` and the browser.
///
/// Format (version 1):
///
///     manifest.json       CodebookCacheManifest: {"kind": "codebook-cache", "version": 1, "created",
///                         "model": {"type", "fingerprint", "source"}, "bundle", "documents": D,
///                         "tokens": N, "codebooks": [{"name", "codes": C, "k", "width"}],
///                         "neurons": [{"name", "width": W}], "files": {"text": "tokens.json",
///                         "codes": "codes.safetensors"}, "metrics": {name: number}}
///     tokens.json         {"documents": [{"ids": [int], "pieces": [string], "text": string}]}:
///                         each token decoded alone; text = the pieces joined (regexes run on it)
///     codes.safetensors   "tokens" (N) int64: every token id, documents one after another;
///                         "document_offsets" (D + 1) int64: document d is rows offsets[d] ..< offsets[d+1];
///                         "codes.<name>" (N, k) int64 per codebook, slot 0 the most similar code, −1 blocked;
///                         "vectors.<name>" (C, width) float32: the code vectors, when stored;
///                         "neurons.<name>" (N, W) float32: activations for the neuron baseline, when stored
///
/// Writing is atomic (a temporary sibling folder replaces the destination). Reading checks the
/// kind, the version and every shape, and throws `CodeAnalysisError.invalidCache` naming the
/// file and field.
public enum CodebookCache {
    /// The manifest's kind.
    public static let kind = "codebook-cache"
    /// The format version written and read.
    public static let version = 1
    static let textFile = "tokens.json", codesFile = "codes.safetensors"

    struct TextFile: Codable {
        struct Document: Codable {
            var ids: [Int]
            var pieces: [String]
            var text: String
        }
        var documents: [Document]
    }

    /// Writes `data` to the folder `path` (replacing it), with the model's identity and metrics.
    @discardableResult
    public static func write(_ data: CollectedCodes, to path: String, model: CodebookCacheManifest.Model, bundle: String? = nil,
                             metrics: [String: Double] = [:]) throws -> CodebookCacheManifest {
        var items: [String: SafeTensorsWriter.Item] = [:]
        let ids = data.documents.flatMap(\.ids)
        items["tokens"] = .int64(IndexTensor(shape: [ids.count], values: ids))
        var offsets = [0]
        for doc in data.documents { offsets.append(offsets.last! + doc.ids.count) }
        items["document_offsets"] = .int64(IndexTensor(shape: [offsets.count], values: offsets))
        for cb in data.codebooks {
            items["codes.\(cb.name)"] = .int64(IndexTensor(shape: [ids.count, cb.k], values: cb.ids.flatMap { $0 }))
            if let v = cb.vectors { items["vectors.\(cb.name)"] = .float(v) }
        }
        for (name, t) in data.neurons { items["neurons.\(name)"] = .float(t) }
        let manifest = CodebookCacheManifest(
            kind: kind, version: version, created: ISO8601DateFormatter().string(from: Date()), model: model, bundle: bundle,
            documents: data.documents.count, tokens: ids.count,
            codebooks: data.codebooks.map { .init(name: $0.name, codes: $0.codeCount, k: $0.k, width: $0.vectors?.shape[1]) },
            neurons: data.neurons.keys.sorted().map { .init(name: $0, width: data.neurons[$0]!.shape[1]) },
            files: ["text": textFile, "codes": codesFile], metrics: metrics)
        let text = TextFile(documents: data.documents.map { .init(ids: $0.ids, pieces: $0.pieces, text: $0.text) })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        try FileSystem.writeDirectoryAtomically(path) { temporary in
            try SafeTensorsWriter.write(items, metadata: ["kind": kind], to: temporary + "/" + codesFile)
            try encoder.encode(text).write(to: URL(fileURLWithPath: temporary + "/" + textFile))
            try encoder.encode(manifest).write(to: URL(fileURLWithPath: temporary + "/manifest.json"))
        }
        return manifest
    }

    /// Reads and checks `manifest.json` only.
    public static func manifest(at path: String) throws -> CodebookCacheManifest {
        let file = path + "/manifest.json"
        guard let bytes = FileManager.default.contents(atPath: file) else {
            throw CodeAnalysisError.invalidCache(path: path, field: "manifest.json", found: "no such file", expected: "a codebook cache folder")
        }
        let kindOnly = try? JSONSerialization.jsonObject(with: bytes) as? [String: Any]
        guard let kind = kindOnly?["kind"] as? String, kind == Self.kind else {
            throw CodeAnalysisError.invalidCache(path: file, field: "kind", found: "\(kindOnly?["kind"] ?? "missing")", expected: "\"\(Self.kind)\"")
        }
        guard let version = kindOnly?["version"] as? Int, version == Self.version else {
            throw CodeAnalysisError.invalidCache(path: file, field: "version", found: "\(kindOnly?["version"] ?? "missing")", expected: "\(Self.version)")
        }
        do { return try JSONDecoder().decode(CodebookCacheManifest.self, from: bytes) } catch {
            throw CodeAnalysisError.invalidCache(path: file, field: "manifest", found: "\(DecodingProblem(error).description)", expected: "a version 1 manifest")
        }
    }

    /// Reads a cache folder back into the collected codes (and its manifest).
    public static func read(from path: String) throws -> (manifest: CodebookCacheManifest, codes: CollectedCodes) {
        let manifest = try manifest(at: path)
        let textPath = path + "/" + (manifest.files["text"] ?? textFile), codesPath = path + "/" + (manifest.files["codes"] ?? codesFile)
        let text: TextFile
        do { text = try JSONDecoder().decode(TextFile.self, from: try Data(contentsOf: URL(fileURLWithPath: textPath))) } catch {
            throw CodeAnalysisError.invalidCache(path: textPath, field: "documents", found: "\(error)", expected: "the documents' ids, pieces and text")
        }
        let documents = text.documents.map { TokenDocument(ids: $0.ids, pieces: $0.pieces) }
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(path: codesPath) } catch {
            throw CodeAnalysisError.invalidCache(path: codesPath, field: "file", found: "\(error)", expected: "a safetensors file")
        }
        let n = documents.reduce(0) { $0 + $1.ids.count }
        guard manifest.documents == documents.count, manifest.tokens == n else {
            throw CodeAnalysisError.invalidCache(path: textPath, field: "documents", found: "\(documents.count) documents, \(n) tokens",
                                                 expected: "\(manifest.documents) documents, \(manifest.tokens) tokens as manifest.json says")
        }
        func load<T>(_ name: String, shape: (Int) -> [Int]?, _ get: (String) throws -> T, _ shapeOf: (T) -> [Int]) throws -> T {
            let value: T
            do { value = try get(name) } catch {
                throw CodeAnalysisError.invalidCache(path: codesPath, field: name, found: "\(error)", expected: "a tensor")
            }
            if let want = shape(shapeOf(value).last ?? 0), shapeOf(value) != want {
                throw CodeAnalysisError.invalidCache(path: codesPath, field: name, found: "shape \(shapeOf(value))", expected: "shape \(want)")
            }
            return value
        }
        var codebooks: [CollectedCodebook] = []
        for entry in manifest.codebooks {
            let codes = try load("codes.\(entry.name)", shape: { _ in [n, entry.k] }, file.integers, \.shape)
            let vectors = try entry.width.map { w in try load("vectors.\(entry.name)", shape: { _ in [entry.codes, w] }, file.tensor, \.shape) }
            var perDocument: [[Int]] = [], start = 0
            for doc in documents {
                perDocument.append(Array(codes.values[start * entry.k ..< (start + doc.ids.count) * entry.k]))
                start += doc.ids.count
            }
            codebooks.append(CollectedCodebook(name: entry.name, codeCount: entry.codes, k: entry.k, ids: perDocument, vectors: vectors))
        }
        var neurons: [String: Tensor] = [:]
        for entry in manifest.neurons {
            neurons[entry.name] = try load("neurons.\(entry.name)", shape: { _ in [n, entry.width] }, file.tensor, \.shape)
        }
        do { return (manifest, try CollectedCodes(documents: documents, codebooks: codebooks, neurons: neurons)) } catch {
            throw CodeAnalysisError.invalidCache(path: codesPath, field: "codes", found: "\(error)", expected: "codes that fit the documents")
        }
    }
}
