import Foundation
import Tensors

/// Where a model comes from, as a user writes it on a command line or in an experiment file.
public enum ModelLocation: Equatable, Sendable {
    /// A checkpoint folder: config.json + model.safetensors (or shards and their index).
    case folder(String)
    /// A llama.cpp GGUF file.
    case gguf(String)
    /// A Hugging Face repo id found in the local cache, at a revision (nil: main).
    case huggingFace(repo: String, revision: String?)

    /// Reads `text`: an existing folder or `.gguf` file, else a repo id ("ORG/NAME[@REVISION]")
    /// of the local Hugging Face cache. Throws naming what was tried when it is none of these.
    public init(parsing text: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: text, isDirectory: &isDirectory) {
            if isDirectory.boolValue { self = .folder(text); return }
            if text.lowercased().hasSuffix(".gguf") { self = .gguf(text); return }
            throw ModelError.invalidInput("'\(text)' is a file but not a .gguf file; give a checkpoint folder (config.json + safetensors), a .gguf file or a Hugging Face repo id")
        }
        if HuggingFaceCache.isRepoID(text) {
            let (repo, revision) = HuggingFaceCache.split(text)
            self = .huggingFace(repo: repo, revision: revision)
            return
        }
        throw ModelError.notFound(what: "model '\(text)' (not a folder, a .gguf file or a repo id ORG/NAME)", searched: [text])
    }
}

extension ModelLoader {
    /// Loads the model at `location` — a checkpoint folder, a `.gguf` file, or a repo id of the
    /// local Hugging Face cache — with its tokenizer, timing and peak memory. The model is frozen.
    /// A GGUF file's quantized matrices stay quantized unless `quantizedWeights` is `.dequantize`.
    public static func load(_ location: ModelLocation, strict: Bool = true, registry: ArchitectureRegistry = .shared,
                            quantizedWeights: QuantizedWeights = .keep) throws -> LoadedModel {
        let start = Date()
        switch location {
        case .folder(let folder):
            if let gguf = try singleGGUF(in: folder) { return try GGUFModelLoader.load(path: gguf, started: start, quantizedWeights: quantizedWeights) }
            let (model, report) = try load(folder: folder, strict: strict, registry: registry)
            let tokenizer = try tokenizer(inFolder: folder)
            return LoadedModel(model: model, tokenizer: tokenizer, report: report, source: folder,
                               loadSeconds: Date().timeIntervalSince(start), peakMemoryMiB: peakResidentMemoryMiB())
        case .huggingFace(let repo, let revision):
            return try load(.folder(try HuggingFaceCache.snapshot(repo, revision: revision)), strict: strict, registry: registry,
                            quantizedWeights: quantizedWeights)
        case .gguf(let path):
            return try GGUFModelLoader.load(path: path, started: start, quantizedWeights: quantizedWeights)
        }
    }

    /// Parses `text` (see `ModelLocation(parsing:)`) and loads the model.
    public static func load(named text: String, strict: Bool = true, quantizedWeights: QuantizedWeights = .keep) throws -> LoadedModel {
        try load(try ModelLocation(parsing: text), strict: strict, quantizedWeights: quantizedWeights)
    }

    /// The one .gguf file of a folder without config.json (a Hugging Face snapshot of a GGUF
    /// repo); nil when the folder has config.json; an error naming the files when it has several.
    static func singleGGUF(in folder: String) throws -> String? {
        guard !FileManager.default.fileExists(atPath: folder + "/config.json") else { return nil }
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.lowercased().hasSuffix(".gguf") }.sorted()
        guard files.count <= 1 else {
            throw ModelError.invalidInput("\(folder) holds several GGUF files (\(files.joined(separator: ", "))) and no config.json; give the file's path")
        }
        return files.first.map { folder + "/" + $0 }
    }

    /// tokenizer.json in `folder`, if there is one.
    static func tokenizer(inFolder folder: String) throws -> (any Tokenizer)? {
        let path = folder + "/tokenizer.json"
        return FileManager.default.fileExists(atPath: path) ? try TokenizerLoader.load(path: path) : nil
    }
}
