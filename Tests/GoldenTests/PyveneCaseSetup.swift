import Foundation
import Intervene
import Models
import Tensors

/// Builds Intervene's objects from a pyvene-golden case: the config, the inputs, locations,
/// subspaces, and the saved intervention parameters.
struct PyveneCaseSetup {
    let data: GoldenFolder
    let c: JSONValue

    /// pyvene behaviours Intervene deliberately does not reproduce, by case name.
    static let deliberateDifferences: [String: String] = [
        "vanilla_subspace_per_example_quirk":
            "Intervene applies each example's own subspace; pyvene 0.1.8 applies the union of every example's subspace to all examples",
        "collect_quirk_head_components_with_unit_pos":
            "Intervene rejects unit \"pos\" on head components and attention weights (use \"h.pos\"); pyvene silently selects a head",
    ]

    /// Expected keys that record a pyvene bug, replaced by their "_intended" counterparts.
    static let buggyKeys: Set<String> = ["logits", "loss", "grad_R"]

    var representations: [JSONValue] { c["representations"]?.arrayValue ?? [] }
    var batchSize: Int { (try? input(c["base"]).batchSize) ?? 0 }

    /// The model input named by a `{kwarg: tensor}` object.
    func input(_ spec: JSONValue?) throws -> ModelInput {
        guard let object = spec?.objectValue else { throw GoldenFailure("case has no input") }
        if let name = object["input_ids"]?.stringValue { return .tokens(try data.integers(name)) }
        if let name = object["inputs_embeds"]?.stringValue { return .embeddings(try data.tensor(name)) }
        throw GoldenSkip("inputs \(object.keys) are not supported")
    }

    func sources() throws -> [ModelInput]? {
        guard let list = c["sources"]?.arrayValue else { return nil }
        return try list.map { try input($0) }
    }

    func config() throws -> IntervenableConfig {
        let reps = try representations.map { r -> RepresentationConfig in
            let embed = r["embed_dim"]?.intValue ?? 0
            var hyper: [String: JSONCodable] = [:]
            // interchange_dim counts units of the block, except for JumpReLU autoencoders, where it
            // counts latents (and may equal or exceed the block width).
            let latentSpace = r["intervention_type"]?.stringValue == "JumpReLUAutoencoderIntervention"
            if let interchange = r["interchange_dim"]?.intValue, latentSpace || interchange < embed {
                hyper["interchange_dim"] = JSONCodable(.int(interchange))
            }
            // pyvene's autoencoder interventions: latents per representation, latent indices per case.
            if let latents = r["latent_dim"]?.intValue { hyper["latent_dim"] = JSONCodable(.int(latents)) }
            if let indices = c["latent_indices"], !indices.isNull { hyper["latent_indices"] = JSONCodable(indices) }
            var vector: [Float]?
            if let name = r["source_representation"]?.stringValue { vector = try data.tensor(name).scalars }
            return RepresentationConfig(
                layer: r["layer"]?.intValue ?? 0, component: Component(r["component"]?.stringValue ?? ""),
                unit: try RepresentationUnit(pyvene: r["unit"]?.stringValue), maxNumberOfUnits: r["max_number_of_units"]?.intValue ?? 1,
                lowRankDimension: r["low_rank_dimension"]?.intValue,
                subspacePartition: r["subspace_partition"]?.arrayValue?.map { $0.arrayValue?.compactMap(\.intValue) ?? [] },
                interventionType: r["intervention_type"]?.stringValue.map(InterventionType.init),
                interventionHyperparameters: hyper.isEmpty ? nil : hyper, sourceRepresentation: vector)
        }
        let mode = InterventionMode(rawValue: c["mode"]?.stringValue ?? "parallel") ?? .parallel
        return IntervenableConfig(representations: reps, mode: mode)
    }

    /// Loads each representation's saved parameters (`parameters`: pyvene name → tensor) into its
    /// intervention.
    func loadParameters(into intervenable: IntervenableModel) throws {
        for (k, r) in representations.enumerated() {
            var state: [String: Tensor] = [:]
            for (name, value) in r["parameters"]?.objectValue ?? JSONObject() {
                guard let tensorName = value.stringValue, data.dtype(tensorName) == "float32" else { continue }
                state[name] = try data.tensor(tensorName)
            }
            if !state.isEmpty { try intervenable.intervention(k).loadState(state) }
        }
    }

    func locations(for config: IntervenableConfig) throws -> UnitLocations? {
        guard let json = c["unit_locations"], !json.isNull else { return nil }
        return try UnitLocations(pyvene: json, config: config, batchSize: batchSize)
    }

    func subspaces(count: Int) throws -> Subspaces? {
        guard let json = c["subspaces"], !json.isNull else { return nil }
        return try IntervenableModel.subspaces(pyvene: json, interventions: count, batchSize: batchSize)
    }

    /// The representation an expected key like "L1.block_output" belongs to.
    func representationIndex(forKey key: String, entry: JSONValue) -> Int? {
        if let i = entry["representation_index"]?.intValue { return i }
        return representations.firstIndex { "L\($0["layer"]?.intValue ?? -1).\($0["component"]?.stringValue ?? "")" == key }
    }
}
