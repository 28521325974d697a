import Foundation
import Models
import Tensors

/// A model wrapped with interventions at the sites its representation configs name.
///
/// ```swift
/// let config = IntervenableConfig(RepresentationConfig(layer: 6, component: .blockOutput), interventionType: .vanilla)
/// let intervenable = try IntervenableModel(config: config, model: gpt2)
/// let out = try intervenable.forward(base: .tokens(base), sources: [.tokens(source)],
///                                    unitLocations: .position(10, batchSize: 8))
/// out.intervened.logits                       // the patched run
/// out.sideOutputs[intervenable.keys[0]]       // what the intervention reported, by name
/// ```
///
/// The wrapped model is frozen on construction. Interventions are keyed as pyvene keys them
/// ("layer_6_comp_block_output_unit_pos_nunit_1#0").
public final class IntervenableModel {
    /// The wrapped model.
    public let model: any HookableModel
    /// The configuration it was built from.
    public let config: IntervenableConfig
    /// One key per representation.
    public let keys: [String]
    /// One intervention per representation (linked representations share an instance).
    public let interventions: [any Intervention]
    /// Representation indices per group, in group order (sources are matched to groups).
    public let groups: [[Int]]
    let sites: [SiteAccess]

    /// Wraps `model`. Interventions are built from their type names through `registry` (seeded
    /// by `seed`) unless given in `prebuilt` by representation index.
    public init(config: IntervenableConfig, model: any HookableModel, registry: InterventionRegistry = .shared,
                seed: UInt64 = 0, prebuilt: [Int: any Intervention] = [:]) throws {
        guard !config.representations.isEmpty else {
            throw ConfigurationError.invalidField(field: "representations", value: "[]", allowed: "at least one representation")
        }
        self.model = model
        self.config = config
        model.freeze()
        var sites: [SiteAccess] = []
        var keys: [String] = []
        var interventions: [any Intervention] = []
        var linked: [Int: any Intervention] = [:]
        var seen: [String: Int] = [:]
        for (i, r) in config.representations.enumerated() {
            let spec = try IntervenableModel.validate(r, index: i, table: model.siteTable)
            sites.append(SiteAccess(representationIndex: i, spec: spec, unit: r.unit))
            let base = "layer_\(r.layer)_comp_\(r.component.rawValue)_unit_\(r.unit.rawValue)_nunit_\(r.maxNumberOfUnits)"
            keys.append("\(base)#\(seen[base, default: 0])")
            seen[base, default: 0] += 1
            if let link = r.interventionLinkKey, let shared = linked[link] {
                interventions.append(shared)
                continue
            }
            let intervention: any Intervention
            if let given = prebuilt[i] {
                intervention = given
            } else {
                guard let type = r.interventionType ?? config.interventionTypes else {
                    throw ConfigurationError.invalidField(field: "representations[\(i)].intervention_type", value: "null",
                                                          allowed: "an intervention type name (or the config's intervention_types)")
                }
                let hyper = JSONObject((r.interventionHyperparameters ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, $0.value.value) })
                let context = InterventionContext(embedDimension: spec.unitDimension * r.maxNumberOfUnits, representation: r,
                                                  hyperparameters: hyper, seed: seed &+ UInt64(i))
                intervention = try registry.make(type, context: context)
            }
            if let link = r.interventionLinkKey { linked[link] = intervention }
            interventions.append(intervention)
        }
        self.sites = sites
        self.keys = keys
        self.interventions = interventions
        self.groups = IntervenableModel.groups(of: config)
        for (i, r) in config.representations.enumerated() where interventions[i].sourceRequirement == .componentInput {
            guard IntervenableModel.componentInputs[r.component] != nil else {
                throw ConfigurationError.invalidField(field: "representations[\(i)].component", value: r.component.rawValue,
                                                      allowed: "a component whose module input is also a site for SkipIntervention: \(IntervenableModel.componentInputs.keys.map(\.rawValue).sorted().joined(separator: ", "))")
            }
        }
    }

    /// The site whose activation is the input of each output component (for SkipIntervention).
    static let componentInputs: [Component: Component] = [
        .blockOutput: .blockInput, .mlpOutput: .mlpInput, .attentionOutput: .attentionInput, .cellOutput: .cellInput,
    ]

    /// The largest `max_number_of_units` accepted (2²⁰): with it the unit width (dimension ×
    /// units) cannot overflow.
    static let maximumUnits = 1 << 20

    /// Checks a representation against the model and returns its site.
    static func validate(_ r: RepresentationConfig, index i: Int, table: SiteTable) throws -> SiteSpec {
        let spec: SiteSpec
        do { spec = try table.spec(for: Site(layer: r.layer, component: r.component)) } catch let e as SiteError {
            switch e {
            case .layerOutOfRange(let layer, _, let layers):
                throw ConfigurationError.invalidField(field: "representations[\(i)].layer", value: "\(layer)", allowed: "0..<\(layers) for \(table.modelName)")
            case .unknownComponent(let c, _, let known):
                throw ConfigurationError.invalidField(field: "representations[\(i)].component", value: "\"\(c.rawValue)\"",
                                                      allowed: known.map(\.rawValue).joined(separator: ", "))
            case .unparsable(let text, let reason):
                throw ConfigurationError.invalidField(field: "representations[\(i)].component", value: text, allowed: reason)
            case .wrongLayer(let c, let layer, _, let only):
                throw ConfigurationError.invalidField(field: "representations[\(i)].layer", value: "\(layer)",
                                                      allowed: "\(only) (\(c.rawValue) exists at that layer only)")
            }
        }
        guard r.maxNumberOfUnits >= 1, r.maxNumberOfUnits <= maximumUnits else {
            throw ConfigurationError.invalidField(field: "representations[\(i)].max_number_of_units", value: "\(r.maxNumberOfUnits)",
                                                  allowed: "an integer in 1...\(maximumUnits)")
        }
        let isHeadSite = spec.isHeadMajor
        switch r.unit {
        case .timeStep where !spec.perTimeStep, .position where spec.perTimeStep, .head where spec.perTimeStep, .headPosition where spec.perTimeStep:
            throw ConfigurationError.invalidField(field: "representations[\(i)].unit", value: "\"\(r.unit.rawValue)\"",
                                                  allowed: spec.perTimeStep ? "t for the recurrent site \(r.component.rawValue)" : "pos, h, h.pos or * (t is for recurrent cells)")
        case .position where isHeadSite:
            throw ConfigurationError.invalidField(field: "representations[\(i)].unit", value: "\"pos\"",
                                                  allowed: "h.pos or h for \(r.component.rawValue) (pyvene would silently select a head with \"pos\")")
        case .head where !isHeadSite, .headPosition where !isHeadSite:
            throw ConfigurationError.invalidField(field: "representations[\(i)].unit", value: "\"\(r.unit.rawValue)\"",
                                                  allowed: "pos or * for \(r.component.rawValue) (heads need a head_* component or attention_weight)")
        default: break
        }
        if let vector = r.sourceRepresentation, vector.count != spec.unitDimension {
            throw ConfigurationError.invalidField(field: "representations[\(i)].source_representation", value: "a vector of \(vector.count)",
                                                  allowed: "a vector of \(spec.unitDimension) (the per-unit dimension of \(r.component.rawValue))")
        }
        if let partition = r.subspacePartition {
            // Checked before `expandedPartition` turns [start, end] into a list (which a huge end
            // would make enormous).
            let width = spec.unitDimension * r.maxNumberOfUnits
            for (k, part) in partition.enumerated() {
                let isRange = part.count == 2 && part[1] > part[0]
                if isRange ? part[0] < 0 || part[1] > width : part.contains(where: { $0 < 0 || $0 >= width }) {
                    throw ConfigurationError.invalidField(field: "representations[\(i)].subspace_partition[\(k)]", value: "\(part)",
                                                          allowed: "indices in 0..<\(width), or [start, end] with 0 ≤ start < end ≤ \(width)")
                }
            }
        }
        // Its upper bound depends on the intervention (a rank for low-rank DAS, a latent count for
        // an autoencoder); each type's factory checks it.
        if let rank = r.lowRankDimension, rank < 1 {
            throw ConfigurationError.invalidField(field: "representations[\(i)].low_rank_dimension", value: "\(rank)", allowed: "an integer ≥ 1")
        }
        return spec
    }

    /// Representation indices grouped by `group_key` (ascending), or one group each.
    public static func groups(of config: IntervenableConfig) -> [[Int]] {
        let reps = config.representations
        if reps.contains(where: { $0.groupKey != nil }) {
            var byKey: [Int: [Int]] = [:]
            for (i, r) in reps.enumerated() { byKey[r.groupKey ?? Int.max, default: []].append(i) }
            return byKey.keys.sorted().map { byKey[$0]! }
        }
        return reps.indices.map { [$0] }
    }

    /// Every trainable parameter of the interventions (linked interventions counted once), named
    /// "<key>.<parameter>".
    public var trainableParameters: [(name: String, parameter: Parameter)] {
        var seen = Set<ObjectIdentifier>()
        var out: [(String, Parameter)] = []
        for (key, intervention) in zip(keys, interventions) where seen.insert(ObjectIdentifier(intervention)).inserted {
            for (name, p) in intervention.namedParameters where p.isTrainable { out.append(("\(key).\(name)", p)) }
        }
        return out
    }

    /// The auxiliary losses of a forward call, once per intervention, in representation order
    /// and then by name: linked representations (one shared intervention) contribute the mean of
    /// their keys' losses under the first key.
    public func auxiliaryLossTerms(_ output: InterventionOutput) -> [(key: String, name: String, loss: Tensor)] {
        var order: [ObjectIdentifier] = []
        var members: [ObjectIdentifier: [String]] = [:]
        for (key, intervention) in zip(keys, interventions) {
            let id = ObjectIdentifier(intervention)
            if members[id] == nil { order.append(id) }
            members[id, default: []].append(key)
        }
        return order.flatMap { id -> [(key: String, name: String, loss: Tensor)] in
            let keys = members[id]!
            let names = Set(keys.flatMap { output.auxiliaryLosses[$0]?.keys.map { $0 } ?? [] }).sorted()
            return names.map { name in (keys[0], name, InterventionState.mean(keys.compactMap { output.auxiliaryLosses[$0]?[name] })) }
        }
    }

    /// The intervention of representation `index`.
    public func intervention(_ index: Int) -> any Intervention { interventions[index] }
}
