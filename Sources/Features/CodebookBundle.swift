import Foundation
import Intervene
import Models
import Tensors

/// The codebooks of a `CodebookModel` saved as data, to share and load onto the same base
/// model: a directory with
///
///     bundle.json          {"format": "intervene-codebook-bundle", "version": 1,
///                           "model": {"model_type", "fingerprint", "source"},
///                           "codebooks": [{"name", "layer", "placement", "groups", "codes", "k",
///                                          "similarity", "objective", "tensors": [names]}],
///                           "metrics": {name: number}, "provenance": {"created", "command"},
///                           "edits": {codebook name: {"patches": [{"positions", "slot", "code"}],
///                                                      "options": {"disabledCodes", …}}}}
///                          (edits: the code interventions — forced and disabled codes — set on the
///                          codebooks when saved, applied again on load; absent when there were none)
///     weights.safetensors  float32 tensors "<entry name>.<parameter>", e.g. "L1.mlp.codebook.weight",
///                          "L0.attn_preproj.codebook.2.ln.bias" (the reference's state_dict names)
///     README.md            a short card
///
/// The fingerprint is `ModelFingerprint` of the base model's own parameters (inserted layers
/// left out), so a bundle loads only onto the model it was trained on. Saving is atomic.
public enum CodebookBundle {
    /// bundle.json's format.
    public static let format = "intervene-codebook-bundle"
    /// The format version written and read.
    public static let version = 1

    struct Document: Codable {
        struct ModelInfo: Codable {
            var model_type: String
            var fingerprint: String
            var source: String
        }
        struct Entry: Codable {
            var name: String
            var layer: Int
            var placement: String
            var groups: Int
            var codes: Int
            var k: Int
            var similarity: String
            var objective: String
            var tensors: [String]
        }
        var format: String
        var version: Int
        var model: ModelInfo
        var codebooks: [Entry]
        var metrics: [String: Double]
        var provenance: [String: String]
        var edits: [String: CodeEdit]?
    }

    /// The fingerprint of `model` without the layers inserted into it.
    public static func baseFingerprint(_ model: DecoderModel) -> String {
        ModelFingerprint.of(BaseParametersView(model))
    }

    /// Saves `codebooks`' layers and settings to the directory `path`.
    public static func save(_ codebooks: CodebookModel, to path: String, modelSource: String, metrics: [String: Double] = [:],
                            command: String = "") throws {
        var items: [String: SafeTensorsWriter.Item] = [:]
        var entries: [Document.Entry] = []
        for entry in codebooks.entries {
            let first: CodebookLayer
            switch entry.layer {
            case let single as CodebookLayer: first = single
            case let group as GroupCodebookLayer: first = group.groups[0]
            default: throw BundleError.unsavable(key: entry.name, type: "\(type(of: entry.layer))")
            }
            let placement = entry.name.split(separator: ".").dropFirst().first.map(String.init) ?? ""
            var names: [String] = []
            for (key, parameter) in entry.layer.namedParameters {
                items["\(entry.name).\(key)"] = .float(parameter.value.detached())
                names.append("\(entry.name).\(key)")
            }
            entries.append(.init(name: entry.name, layer: entry.site.layer, placement: placement,
                                 groups: (entry.layer as? GroupCodebookLayer)?.groups.count ?? 1, codes: first.codeCount, k: first.k,
                                 similarity: first.similarity.rawValue, objective: first.objective.description, tensors: names))
        }
        var edits: [String: CodeEdit] = [:], seen = Set<ObjectIdentifier>()
        for (name, layer) in codebooks.codebooks where seen.insert(ObjectIdentifier(layer)).inserted {
            if !layer.patches.isEmpty || layer.callOptions != .plain { edits[name] = CodeEdit(patches: layer.patches, options: layer.callOptions) }
        }
        let document = Document(format: format, version: version,
                                model: .init(model_type: codebooks.model.modelType, fingerprint: baseFingerprint(codebooks.model), source: modelSource),
                                codebooks: entries, metrics: metrics,
                                provenance: ["created": ISO8601DateFormatter().string(from: Date()), "command": command],
                                edits: edits.isEmpty ? nil : edits)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let readme = (["# Codebooks", "", "- model: `\(codebooks.model.modelType)` from `\(modelSource)`", "- fingerprint: `\(document.model.fingerprint)`", ""]
            + entries.map { "- `\($0.name)`: \($0.codes) codes, k = \($0.k), \($0.groups) group(s), \($0.objective)" } + [""]).joined(separator: "\n")
        try FileSystem.writeDirectoryAtomically(path) { temporary in
            try SafeTensorsWriter.write(items, metadata: ["format": format], to: temporary + "/weights.safetensors")
            try encoder.encode(document).write(to: URL(fileURLWithPath: temporary + "/bundle.json"))
            try Data(readme.utf8).write(to: URL(fileURLWithPath: temporary + "/README.md"))
        }
    }

    /// Reads and checks bundle.json (format and version).
    static func document(at path: String) throws -> Document {
        let file = path + "/bundle.json"
        guard let bytes = FileManager.default.contents(atPath: file) else { throw BundleError.unreadable(path: path, reason: "no bundle.json") }
        let header = try? JSONSerialization.jsonObject(with: bytes) as? [String: Any]
        guard let found = header?["format"] as? String, found == format else {
            throw BundleError.invalidField(path: file, field: "format", value: "\(header?["format"] ?? "missing")", expected: "\"\(format)\"")
        }
        guard let v = header?["version"] as? Int, v == version else {
            throw BundleError.unsupportedVersion(path: file, found: "\(header?["version"] ?? "missing")", supported: "\(version)")
        }
        do { return try JSONDecoder().decode(Document.self, from: bytes) } catch {
            throw BundleError.invalidField(path: file, field: "bundle", value: "…", expected: "a codebook bundle (\(DecodingProblem(error).description))")
        }
    }

    /// Inserts the bundle's codebooks into `model` and loads their weights. Throws
    /// `BundleError.modelMismatch` for a bundle made for another model (checked before anything
    /// is inserted), and typed errors for a malformed bundle (the model is then left as it was).
    public static func load(from path: String, onto model: DecoderModel) throws -> CodebookModel {
        let document = try document(at: path)
        let file = path + "/bundle.json"
        let fingerprint = baseFingerprint(model)
        guard document.model.fingerprint == fingerprint else {
            throw BundleError.modelMismatch(path: path, bundleModel: document.model.model_type, bundleFingerprint: document.model.fingerprint,
                                            modelFingerprint: fingerprint)
        }
        var specs: [CodebookSpec] = [], seen = Set<String>()
        for (i, entry) in document.codebooks.enumerated() where seen.insert("\(entry.layer).\(entry.placement)").inserted {
            // qkv: q, k and v with different group counts were made with groups = −1 (one per head).
            let siblings = Set(document.codebooks.filter { $0.layer == entry.layer && $0.placement == entry.placement }.map(\.groups))
            do {
                specs.append(CodebookSpec(placement: try CodebookPlacement(parsing: entry.placement), layers: [entry.layer], codeCount: entry.codes,
                                          k: entry.k, groups: siblings.count > 1 ? -1 : entry.groups, similarity: try CodebookSimilarity(parsing: entry.similarity),
                                          objective: try CodebookObjective(parsing: entry.objective)))
            } catch {
                throw BundleError.invalidField(path: file, field: "codebooks[\(i)]", value: entry.name, expected: "a valid codebook (\(error))")
            }
        }
        let weights: SafeTensorsFile
        do { weights = try SafeTensorsFile(path: path + "/weights.safetensors") } catch {
            throw BundleError.unreadable(path: path + "/weights.safetensors", reason: "\(error)")
        }
        let earlier = model.insertions.entries
        func restore() {
            model.insertions.remove()
            for e in earlier { try? model.insertions.insert(e.layer, at: e.site, name: e.name) }
        }
        let codebooks: CodebookModel
        do { codebooks = try CodebookModel(model: model, specs: specs) } catch {
            restore()
            throw BundleError.invalidField(path: file, field: "codebooks", value: "\(specs.count) specs", expected: "codebooks that fit this model (\(error))")
        }
        do {
            try assign(weights, to: codebooks, path: path)
            try applyEdits(document.edits ?? [:], to: codebooks, file: file)
        } catch {
            restore()
            throw error
        }
        return codebooks
    }

    /// Sets each saved code intervention on its codebook after checking codes and slots.
    static func applyEdits(_ edits: [String: CodeEdit], to codebooks: CodebookModel, file: String) throws {
        for name in edits.keys.sorted() {
            guard let layer = codebooks.codebook(named: name) else {
                throw BundleError.invalidField(path: file, field: "edits", value: name, expected: "names of the bundle's codebooks")
            }
            let edit = edits[name]!
            do { try layer.validate(edit) } catch {
                throw BundleError.invalidField(path: file, field: "edits.\(name)", value: "…", expected: "codes and slots the codebook has (\(error))")
            }
            (layer.patches, layer.callOptions) = (edit.patches, edit.options)
        }
    }

    /// Copies every "<entry>.<parameter>" tensor onto the inserted layers, checking shapes.
    static func assign(_ weights: SafeTensorsFile, to codebooks: CodebookModel, path: String) throws {
        for entry in codebooks.entries {
            for (key, parameter) in entry.layer.namedParameters {
                let name = "\(entry.name).\(key)"
                let tensor: Tensor
                do { tensor = try weights.tensor(name) } catch { throw BundleError.tensor(path: path, intervention: entry.name, reason: "\(error)") }
                guard tensor.shape == parameter.shape else {
                    throw BundleError.tensor(path: path, intervention: entry.name, reason: "tensor '\(name)' has shape \(tensor.shape), expected \(parameter.shape)")
                }
                parameter.assign(tensor)
            }
        }
    }
}

/// A model seen without its inserted layers' parameters, for fingerprints.
final class BaseParametersView: HookableModel {
    let base: DecoderModel
    init(_ base: DecoderModel) { self.base = base }
    var modelType: String { base.modelType }
    var siteTable: SiteTable { base.siteTable }
    func forward(_ input: ModelInput, options: ForwardOptions) throws -> ModelOutput { try base.forward(input, options: options) }
    func visitParameters(_ visit: (String, Parameter) -> Void) {
        base.visitParameters { key, parameter in if !key.hasPrefix("insertions.") { visit(key, parameter) } }
    }
}
