import Foundation
import Models
import Tensors

/// A folder written by pyvene's `IntervenableModel.save(save_directory)` (pyvene 0.1.x), read as
/// data — nothing in it is executed:
///
///     config.json               IntervenableConfig: "representations" (each pyvene's
///                               RepresentationConfig namedtuple, as a JSON list in field order
///                               layer, component, unit, max_number_of_units, low_rank_dimension,
///                               intervention_type, intervention, subspace_partition, group_key,
///                               intervention_link_key, moe_key, source_representation,
///                               hidden_source_representation, latent_dim — or as an object),
///                               "intervention_types" ("<class 'pyvene.models.interventions.X'>"
///                               per representation), "intervention_dimensions" (each
///                               intervention's interchange_dim: an int, a list, or null),
///                               "intervention_constant_sources", "mode", "sorted_keys"
///     intkey_<key>.bin          torch.save(intervention.state_dict()) for each trainable or
///                               constant-source intervention, read by `TorchCheckpoint`
///
/// Each pyvene type maps to the type of the same name here. `interchange_dim` becomes the
/// `interchange_dim` hyperparameter of the types that read it as "the first k dimensions"
/// (localist types, RotatedSpaceIntervention; JumpReLUAutoencoderIntervention, capped at its
/// latents) and `latent_indices` of AutoencoderIntervention (whose interchange_dim indexes
/// latents); `latent_dim` becomes AutoencoderIntervention's hyperparameter. Weights are
/// translated by `PyveneState`. PCARotatedSpaceIntervention is refused: pyvene saves no weights
/// for it.
public struct PyveneSavedFolder {
    /// One saved intervention.
    public struct Entry {
        /// pyvene's key ("layer_0_comp_block_output_unit_pos_nunit_1#0").
        public let key: String
        /// pyvene's class name ("RotatedSpaceIntervention").
        public let pyveneType: String
        /// Where it acts and how it is built here (type and hyperparameters filled in).
        public let representation: RepresentationConfig
        /// The translated weights (empty when pyvene saved no file for it).
        public let state: [String: Tensor]
    }

    /// The folder.
    public let path: String
    /// The interventions, in pyvene's order.
    public let entries: [Entry]
    /// Parallel or serial.
    public let mode: InterventionMode

    /// This library's config for the folder.
    public var config: IntervenableConfig {
        IntervenableConfig(representations: entries.map(\.representation), mode: mode)
    }

    /// pyvene's RepresentationConfig fields, in namedtuple order.
    public static let representationFields = [
        "layer", "component", "unit", "max_number_of_units", "low_rank_dimension", "intervention_type", "intervention",
        "subspace_partition", "group_key", "intervention_link_key", "moe_key", "source_representation",
        "hidden_source_representation", "latent_dim",
    ]
    /// Types whose interchange_dim means "the first k dimensions".
    static let limitTypes: Set<String> = [
        "VanillaIntervention", "AdditionIntervention", "SubtractionIntervention", "ZeroIntervention", "CollectIntervention",
        "SkipIntervention", "NoiseIntervention", "ConstantSourceIntervention", "RotatedSpaceIntervention", "JumpReLUAutoencoderIntervention",
    ]

    /// Reads `path`/config.json and every intervention's weights. Throws `BundleError` naming the
    /// file and field (and `TorchCheckpointError` for a weights file that is not a safe checkpoint).
    public static func read(_ path: String, registry: InterventionRegistry = .shared) throws -> PyveneSavedFolder {
        let file = path + "/config.json"
        guard FileManager.default.fileExists(atPath: file) else {
            throw BundleError.unreadable(path: path, reason: "no config.json (not a folder written by pyvene's IntervenableModel.save)")
        }
        let json: JSONValue
        do { json = try JSONValue.parse(contentsOf: file) } catch { throw BundleError.unreadable(path: file, reason: "\(error)") }
        func invalid(_ field: String, _ value: JSONValue?, _ expected: String) -> BundleError {
            .invalidField(path: file, field: field, value: value?.serialized() ?? "missing", expected: expected)
        }
        guard let representations = json["representations"]?.arrayValue, !representations.isEmpty else {
            throw invalid("representations", json["representations"], "a non-empty list of representations")
        }
        let count = representations.count
        func list(_ name: String, required: Bool) throws -> [JSONValue] {
            guard let v = json[name], !v.isNull else {
                if required { throw invalid(name, nil, "a list with one entry per representation (\(count))") }
                return Array(repeating: .null, count: count)
            }
            guard let a = v.arrayValue, a.count == count else { throw invalid(name, v, "a list with one entry per representation (\(count))") }
            return a
        }
        let types = try list("intervention_types", required: true), dimensions = try list("intervention_dimensions", required: false)
        let constant = try list("intervention_constant_sources", required: false)
        let keys = try list("sorted_keys", required: true)
        let modeText = json["mode"]?.stringValue ?? "parallel"
        guard let mode = InterventionMode(rawValue: modeText) else { throw invalid("mode", json["mode"], "\"parallel\" or \"serial\"") }
        var entries: [Entry] = []
        for i in 0..<count {
            guard let key = keys[i].stringValue, !key.isEmpty, !key.contains("/") else {
                throw invalid("sorted_keys[\(i)]", keys[i], "an intervention key")
            }
            let fields = try fieldsOf(representations[i], index: i, file: file)
            let pyveneType = try typeName(types[i], index: i, file: file, registry: registry)
            var representation = try representationConfig(fields, index: i, file: file)
            representation.interventionType = InterventionType(pyveneType)
            representation.interventionHyperparameters = try hyperparameters(type: pyveneType, dimension: dimensions[i], fields: fields, index: i, file: file)
            let weights = path + "/intkey_\(key).bin"
            var state: [String: Tensor] = [:]
            if FileManager.default.fileExists(atPath: weights) {
                let raw = try TorchCheckpoint(path: weights).tensors
                let (tensors, source) = try PyveneState.translate(raw, file: weights, key: key)
                state = tensors
                if constant[i].boolValue == true, let source { representation.sourceRepresentation = source.scalars }
            } else if constant[i].boolValue == true && !["ZeroIntervention", "CollectIntervention"].contains(pyveneType) {
                throw BundleError.unreadable(path: weights, reason: "missing: intervention \(i) has a constant source, which pyvene saves there")
            }
            entries.append(Entry(key: key, pyveneType: pyveneType, representation: representation, state: state))
        }
        return PyveneSavedFolder(path: path, entries: entries, mode: mode)
    }

    /// Builds the interventions on `model` and loads their weights (linked interventions once).
    /// Throws `BundleError` naming the intervention when the config does not fit the model or a
    /// trainable intervention has no weights file.
    public func intervenableModel(on model: any HookableModel, registry: InterventionRegistry = .shared) throws -> IntervenableModel {
        let intervenable: IntervenableModel
        do { intervenable = try IntervenableModel(config: config, model: model, registry: registry) } catch {
            throw BundleError.invalidField(path: path + "/config.json", field: "representations", value: "…", expected: "a config that fits this model (\(error))")
        }
        var loaded = Set<ObjectIdentifier>()
        for (entry, intervention) in zip(entries, intervenable.interventions) where loaded.insert(ObjectIdentifier(intervention)).inserted {
            if entry.state.isEmpty && intervention.stateTensors().isEmpty { continue }
            guard !entry.state.isEmpty else {
                throw BundleError.unreadable(path: path + "/intkey_\(entry.key).bin", reason: "missing: \(entry.pyveneType) has weights, which pyvene saves there")
            }
            do { try intervention.loadState(entry.state) } catch {
                throw BundleError.tensor(path: path + "/intkey_\(entry.key).bin", intervention: entry.key, reason: "\(error)")
            }
        }
        return intervenable
    }

    /// A representation as an object keyed by pyvene's field names.
    static func fieldsOf(_ value: JSONValue, index i: Int, file: String) throws -> JSONObject {
        if let object = value.objectValue { return object }
        guard let items = value.arrayValue, items.count <= representationFields.count else {
            throw BundleError.invalidField(path: file, field: "representations[\(i)]", value: value.serialized(),
                                           expected: "a list of up to \(representationFields.count) fields (\(representationFields.joined(separator: ", "))) or an object")
        }
        return JSONObject(zip(representationFields, items).map { ($0, $1) })
    }

    /// The class name in "<class 'pyvene.models.interventions.X'>" (or a bare name), checked
    /// against the registry.
    static func typeName(_ value: JSONValue, index i: Int, file: String, registry: InterventionRegistry) throws -> String {
        let known = ["pyvene.models.interventions.", "pyvene."]
        var text = value.stringValue ?? ""
        if text.hasPrefix("<class '") && text.hasSuffix("'>") { text = String(text.dropFirst(8).dropLast(2)) }
        if let prefix = known.first(where: { text.hasPrefix($0) }) { text = String(text.dropFirst(prefix.count)) }
        guard !text.isEmpty, !text.contains("."), let name = registry.canonicalName(text), name == text else {
            throw BundleError.invalidField(path: file, field: "intervention_types[\(i)]", value: value.serialized(),
                                           expected: "one of pyvene's intervention classes this library implements")
        }
        guard name != "PCARotatedSpaceIntervention" else {
            throw BundleError.invalidField(path: file, field: "intervention_types[\(i)]", value: value.serialized(),
                                           expected: "a type pyvene saves weights for (PCARotatedSpaceIntervention's components are not saved)")
        }
        return name
    }
}
