import Models
import Tensors

/// Reading one saved pyvene representation into a `RepresentationConfig` and hyperparameters.
extension PyveneSavedFolder {
    /// The representation's site, units and grouping. Throws `BundleError.invalidField` naming
    /// `representations[i].<field>` for a value of the wrong kind, and for a `moe_key` (mixture
    /// routing is not implemented here).
    static func representationConfig(_ f: JSONObject, index i: Int, file: String) throws -> RepresentationConfig {
        func field(_ name: String) -> String { "representations[\(i)].\(name)" }
        func invalid(_ name: String, _ expected: String) -> BundleError {
            .invalidField(path: file, field: field(name), value: f[name]?.serialized() ?? "missing", expected: expected)
        }
        func int(_ name: String) throws -> Int? {
            guard let v = f[name], !v.isNull else { return nil }
            guard let n = v.intValue else { throw invalid(name, "an integer or null") }
            return n
        }
        guard let layer = try int("layer"), layer >= 0 else { throw invalid("layer", "a layer index ≥ 0") }
        guard let component = f["component"]?.stringValue, !component.isEmpty else { throw invalid("component", "a component name such as \"block_output\"") }
        let unit: RepresentationUnit
        do { unit = try RepresentationUnit(pyvene: f["unit"]?.isNull == false ? f["unit"]?.stringValue ?? "?" : "pos") } catch {
            throw invalid("unit", "one of pos, h, h.pos, t")
        }
        let units = try int("max_number_of_units") ?? 1
        guard units >= 1 else { throw invalid("max_number_of_units", "an integer ≥ 1") }
        let lowRank = try int("low_rank_dimension")
        if let lowRank, lowRank < 1 { throw invalid("low_rank_dimension", "an integer ≥ 1 or null") }
        if let moe = f["moe_key"], !moe.isNull { throw invalid("moe_key", "null (mixture-of-experts routing is not supported)") }
        var partition: [[Int]]?
        if let p = f["subspace_partition"], !p.isNull {
            guard let groups = p.arrayValue?.map({ $0.arrayValue?.compactMap(\.intValue) }), groups.allSatisfy({ $0 != nil }),
                  zip(groups, p.arrayValue!).allSatisfy({ $0!.count == $1.arrayValue!.count }) else {
                throw invalid("subspace_partition", "a list of lists of integers, or null")
            }
            partition = groups.map { $0! }
        }
        var source: [Float]?
        if let s = f["source_representation"], !s.isNull {
            guard let values = s.arrayValue?.compactMap(\.doubleValue), values.count == s.arrayValue?.count, !values.isEmpty else {
                throw invalid("source_representation", "a list of numbers, or null")
            }
            source = values.map { Float($0) }
        }
        return RepresentationConfig(layer: layer, component: Component(component), unit: unit, maxNumberOfUnits: units,
                                    lowRankDimension: lowRank, subspacePartition: partition, groupKey: try int("group_key"),
                                    interventionLinkKey: try int("intervention_link_key"), sourceRepresentation: source)
    }

    /// The hyperparameters this library's type needs from pyvene's saved interchange_dim and
    /// the representation's latent_dim (see the type's doc comment for the mapping).
    static func hyperparameters(type: String, dimension: JSONValue, fields: JSONObject, index i: Int, file: String) throws -> [String: JSONCodable]? {
        func invalid(_ field: String, _ value: JSONValue, _ expected: String) -> BundleError {
            .invalidField(path: file, field: field, value: value.serialized(), expected: expected)
        }
        let dimensionField = "intervention_dimensions[\(i)]"
        if limitTypes.contains(type) {
            guard !dimension.isNull else { return nil }
            guard var k = dimension.intValue, k >= 0 else { throw invalid(dimensionField, dimension, "an integer ≥ 0 or null for \(type)") }
            if type == "JumpReLUAutoencoderIntervention", let latents = fields["low_rank_dimension"]?.intValue { k = min(k, latents) }
            return ["interchange_dim": JSONCodable(.int(k))]
        }
        guard type == "AutoencoderIntervention" else { return nil }
        guard let latents = fields["latent_dim"]?.intValue, latents >= 1 else {
            throw invalid("representations[\(i)].latent_dim", fields["latent_dim"] ?? .null, "the number of latents (pyvene's AutoencoderIntervention needs it)")
        }
        var h: [String: JSONCodable] = ["latent_dim": JSONCodable(.int(latents))]
        if let one = dimension.intValue {
            h["latent_indices"] = JSONCodable(.array([.int(one)]))
        } else if let many = dimension.arrayValue {
            let indices = many.compactMap(\.intValue)
            guard indices.count == many.count else { throw invalid(dimensionField, dimension, "latent indices (integers) for AutoencoderIntervention") }
            h["latent_indices"] = JSONCodable(.array(indices.map { .int($0) }))
        } else if !dimension.isNull {
            throw invalid(dimensionField, dimension, "latent indices (an integer or a list) for AutoencoderIntervention")
        }
        return h
    }
}
