import Foundation
import Models
import Tensors

/// Interventions saved as data, to share and reload: a directory with
///
///     bundle.json          format, version, model fingerprint, config, interventions, metrics, provenance
///     weights.safetensors  tensors named "<intervention key>.<tensor>"
///     README.md            a card: task, model, training, metrics, how to reproduce
///
/// Saving is atomic: everything is written to a temporary sibling directory that then replaces
/// the destination, so an interrupted save leaves the previous bundle intact. Loading never
/// executes code; it checks the format version, the model fingerprint and every tensor's shape.
public enum InterventionBundle {
    public static let format = "intervene-bundle"
    public static let version = 1
    public static let interveneVersion = "0.1.0"

    /// Where a bundle came from.
    public struct Provenance: Sendable {
        public var command: String
        public var seed: UInt64
        public var data: String
        /// The partition id each representation was trained on (nil: the whole space); read
        /// back by `intervene evaluate` so a bundle is scored on the subspace it learned.
        public var subspaces: [Int]?
        public init(command: String, seed: UInt64, data: String, subspaces: [Int]? = nil) {
            self.command = command
            self.seed = seed
            self.data = data
            self.subspaces = subspaces
        }
    }

    /// A human summary for the README card.
    public struct Card: Sendable {
        public var title: String
        public var task: String
        public var training: String
        public var reproduce: String
        public init(title: String, task: String, training: String, reproduce: String) {
            self.title = title
            self.task = task
            self.training = training
            self.reproduce = reproduce
        }
    }

    /// Test hook: called with each file name just before it is written (throw to simulate a
    /// crash mid-save).
    nonisolated(unsafe) static var beforeWriting: ((String) throws -> Void)?

    /// Saves `model`'s interventions to the directory `path`.
    public static func save(_ model: IntervenableModel, to path: String, modelSource: String, metrics: [String: Double] = [:],
                            provenance: Provenance, card: Card? = nil) throws {
        let fingerprint = ModelFingerprint.of(model.model)
        var entries: [JSONValue] = []
        var items: [String: SafeTensorsWriter.Item] = [:]
        var savedKeys = Set<ObjectIdentifier>()
        for (key, intervention) in zip(model.keys, model.interventions) {
            if intervention is ClosureIntervention { throw BundleError.unsavable(key: key, type: intervention.typeName) }
            let first = savedKeys.insert(ObjectIdentifier(intervention)).inserted
            let state = first ? intervention.stateTensors() : [:]
            var names: [JSONValue] = []
            for (name, tensor) in state.sorted(by: { $0.key < $1.key }) {
                items["\(key).\(name)"] = .float(tensor)
                names.append(.string("\(key).\(name)"))
            }
            entries.append(.object(JSONObject([("key", .string(key)), ("type", .string(intervention.typeName)),
                                               ("hyperparameters", .object(intervention.hyperparameters)), ("tensors", .array(names))])))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let configJSON = try JSONValue.parse(String(decoding: try encoder.encode(model.config), as: UTF8.self))
        let formatter = ISO8601DateFormatter()
        var provenanceFields: [(String, JSONValue)] = [
            ("created", .string(formatter.string(from: Date()))), ("intervene_version", .string(interveneVersion)),
            ("command", .string(provenance.command)), ("seed", .int(Int(truncatingIfNeeded: provenance.seed))), ("data", .string(provenance.data)),
        ]
        if let subspaces = provenance.subspaces { provenanceFields.append(("subspaces", .array(subspaces.map { .int($0) }))) }
        let document = JSONValue.object(JSONObject([
            ("format", .string(format)), ("version", .int(version)),
            ("model", .object(JSONObject([("model_type", .string(model.model.modelType)), ("fingerprint", .string(fingerprint)),
                                          ("source", .string(modelSource))]))),
            ("config", configJSON),
            ("interventions", .array(entries)),
            ("metrics", .object(JSONObject(metrics.sorted { $0.key < $1.key }.map { ($0.key, .double($0.value)) }))),
            ("provenance", .object(JSONObject(provenanceFields))),
        ]))
        try FileSystem.writeDirectoryAtomically(path) { temporary in
            try beforeWriting?("weights.safetensors")
            try SafeTensorsWriter.write(items, metadata: ["format": format], to: temporary + "/weights.safetensors")
            try beforeWriting?("bundle.json")
            try Data((document.serialized(indent: 2) + "\n").utf8).write(to: URL(fileURLWithPath: temporary + "/bundle.json"))
            try beforeWriting?("README.md")
            let readme = cardText(model: model, card: card, metrics: metrics, modelSource: modelSource, fingerprint: fingerprint, provenance: provenance)
            try Data(readme.utf8).write(to: URL(fileURLWithPath: temporary + "/README.md"))
        }
    }

    /// What bundle.json says, without building anything.
    public struct Manifest {
        public let json: JSONValue
        public let path: String
        public var modelType: String { json["model"]?["model_type"]?.stringValue ?? "?" }
        public var fingerprint: String { json["model"]?["fingerprint"]?.stringValue ?? "?" }
        public var modelSource: String { json["model"]?["source"]?.stringValue ?? "" }
        public var metrics: [String: Double] {
            Dictionary(uniqueKeysWithValues: (json["metrics"]?.objectValue ?? JSONObject()).compactMap { k, v in v.doubleValue.map { (k, $0) } })
        }
        public var interventions: [JSONValue] { json["interventions"]?.arrayValue ?? [] }
        /// The partition ids the interventions were trained on, when recorded.
        public var trainedSubspaces: [Int]? { json["provenance"]?["subspaces"]?.arrayValue?.compactMap(\.intValue) }
    }

    /// Reads and checks bundle.json.
    public static func manifest(at path: String) throws -> Manifest {
        let file = path + "/bundle.json"
        guard FileManager.default.fileExists(atPath: file) else { throw BundleError.unreadable(path: path, reason: "no bundle.json") }
        let json: JSONValue
        do { json = try JSONValue.parse(contentsOf: file) } catch { throw BundleError.unreadable(path: file, reason: "\(error)") }
        return try manifest(json: json, path: path)
    }

    /// Checks a parsed bundle.json of the bundle directory `path` (format, version, a config
    /// object); throws `BundleError` naming the field, its value and what is allowed.
    public static func manifest(json: JSONValue, path: String) throws -> Manifest {
        let file = path + "/bundle.json"
        guard json["format"]?.stringValue == format else {
            throw BundleError.invalidField(path: file, field: "format", value: json["format"]?.serialized() ?? "missing", expected: "\"\(format)\"")
        }
        guard let v = json["version"]?.intValue else {
            throw BundleError.invalidField(path: file, field: "version", value: json["version"]?.serialized() ?? "missing", expected: "an integer")
        }
        guard v == version else { throw BundleError.unsupportedVersion(path: file, found: "\(v)", supported: "\(version)") }
        guard json["config"]?.objectValue != nil else {
            throw BundleError.invalidField(path: file, field: "config", value: json["config"]?.serialized() ?? "missing", expected: "an intervenable config object")
        }
        return Manifest(json: json, path: path)
    }

    /// Loads the bundle at `path` onto `model`, refusing a bundle made for another model.
    public static func load(from path: String, model: any HookableModel, registry: InterventionRegistry = .shared) throws -> IntervenableModel {
        try load(manifest: try manifest(at: path), model: model, registry: registry) {
            try SafeTensorsFile(path: path + "/weights.safetensors")
        }
    }

    /// Loads a checked manifest onto `model`, reading the tensors from the file `weights` opens
    /// (called once, after the fingerprint and config are checked); throws `BundleError` as
    /// `load(from:model:registry:)` does.
    public static func load(manifest m: Manifest, model: any HookableModel, registry: InterventionRegistry = .shared,
                            weights openWeights: () throws -> SafeTensorsFile) throws -> IntervenableModel {
        let path = m.path
        let file = path + "/bundle.json"
        let fingerprint = ModelFingerprint.of(model)
        guard m.fingerprint == fingerprint else {
            throw BundleError.modelMismatch(path: path, bundleModel: m.modelType, bundleFingerprint: m.fingerprint, modelFingerprint: fingerprint)
        }
        var config: IntervenableConfig
        do { config = try JSONDecoder().decode(IntervenableConfig.self, from: Data(m.json["config"]!.serialized().utf8)) } catch {
            throw BundleError.invalidField(path: file, field: "config", value: "…", expected: "a valid intervenable config (\(DecodingProblem(error).description))")
        }
        guard m.interventions.count == config.representations.count else {
            throw BundleError.invalidField(path: file, field: "interventions", value: "\(m.interventions.count) entries",
                                           expected: "one per representation (\(config.representations.count))")
        }
        for (i, entry) in m.interventions.enumerated() {
            guard let type = entry["type"]?.stringValue else {
                throw BundleError.invalidField(path: file, field: "interventions[\(i)].type", value: entry["type"]?.serialized() ?? "missing", expected: "a type name")
            }
            config.representations[i].interventionType = InterventionType(type)
            let hyper = entry["hyperparameters"]?.objectValue ?? JSONObject()
            config.representations[i].interventionHyperparameters = Dictionary(uniqueKeysWithValues: hyper.map { ($0.key, JSONCodable($0.value)) })
        }
        let intervenable: IntervenableModel
        do { intervenable = try IntervenableModel(config: config, model: model, registry: registry) } catch {
            throw BundleError.invalidField(path: file, field: "config", value: "…", expected: "a config that fits this model (\(error))")
        }
        let weights: SafeTensorsFile
        do { weights = try openWeights() } catch {
            throw BundleError.unreadable(path: path + "/weights.safetensors", reason: "\(error)")
        }
        var loaded = Set<ObjectIdentifier>()
        for (i, entry) in m.interventions.enumerated() {
            let intervention = intervenable.interventions[i]
            guard loaded.insert(ObjectIdentifier(intervention)).inserted else { continue }
            let key = entry["key"]?.stringValue ?? intervenable.keys[i]
            var state: [String: Tensor] = [:]
            for name in (entry["tensors"]?.arrayValue ?? []).compactMap(\.stringValue) {
                guard name.hasPrefix(key + ".") else {
                    throw BundleError.tensor(path: path, intervention: key, reason: "tensor '\(name)' does not belong to it")
                }
                do { state[String(name.dropFirst(key.count + 1))] = try weights.tensor(name) } catch {
                    throw BundleError.tensor(path: path, intervention: key, reason: "\(error)")
                }
            }
            do { try intervention.loadState(state) } catch {
                throw BundleError.tensor(path: path, intervention: key, reason: "\(error)")
            }
        }
        return intervenable
    }

    static func cardText(model: IntervenableModel, card: Card?, metrics: [String: Double], modelSource: String, fingerprint: String,
                         provenance: Provenance) -> String {
        var lines = ["# \(card?.title ?? "Intervention bundle")", ""]
        if let card { lines += ["## Task", "", card.task, ""] }
        lines += ["## Model", "", "- type: `\(model.model.modelType)`", "- source: `\(modelSource)`", "- fingerprint: `\(fingerprint)`", ""]
        lines += ["## Interventions", ""]
        for (key, (r, i)) in zip(model.keys, zip(model.config.representations, model.interventions)) {
            lines.append("- `\(key)`: \(i.typeName) at layer \(r.layer) \(r.component.rawValue), unit \(r.unit.rawValue)")
        }
        lines += ["", "## Training", "", card?.training ?? "see provenance in bundle.json", ""]
        lines += ["## Metrics", ""] + metrics.sorted { $0.key < $1.key }.map { String(format: "- %@: %.4f", $0.key, $0.value) } + [""]
        lines += ["## Reproduce", "", "```", card?.reproduce ?? provenance.command, "```", ""]
        return lines.joined(separator: "\n")
    }
}
