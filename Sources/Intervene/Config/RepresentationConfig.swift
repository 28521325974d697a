import Foundation
import Models
import Tensors

/// Where and how one intervention acts, in pyvene's vocabulary. JSON uses pyvene's field names
/// (`layer`, `component`, `unit`, `max_number_of_units`, `low_rank_dimension`,
/// `subspace_partition`, `group_key`, `intervention_link_key`, `intervention_type`,
/// `source_representation`), so a config a pyvene user writes reads unchanged.
public struct RepresentationConfig: Codable, Sendable, Equatable {
    /// Layer index.
    public var layer: Int
    /// The hook site inside the layer ("block_output", "head_attention_value_output", …).
    public var component: Component
    /// Granularity of locations.
    public var unit: RepresentationUnit
    /// Units selected per example (positions, or heads × positions); sizes trainable
    /// interventions (embed dimension = per-unit dimension × this).
    public var maxNumberOfUnits: Int
    /// Rank of a low-rank rotation.
    public var lowRankDimension: Int?
    /// Groups of rotated dimensions a subspace id stands for: [[0, 8], [8, 16]] (an entry of
    /// exactly two ints is a half-open range; other entries list indices).
    public var subspacePartition: [[Int]]?
    /// Interventions with the same group key read the same source input.
    public var groupKey: Int?
    /// Interventions with the same link key share one intervention (tied weights).
    public var interventionLinkKey: Int?
    /// The intervention type (`.vanilla`, `.rotatedSpace`, …; on the wire pyvene's class name
    /// such as "VanillaIntervention"); nil uses the config's default.
    public var interventionType: InterventionType?
    /// Extra constructor arguments of the intervention (e.g. "interchange_dim", "noise_level").
    public var interventionHyperparameters: [String: JSONCodable]?
    /// A fixed source vector (length = the site's per-unit dimension), broadcast over batch and
    /// units; the intervention then needs no source input.
    public var sourceRepresentation: [Float]?

    public init(layer: Int, component: Component, unit: RepresentationUnit = .position, maxNumberOfUnits: Int = 1,
                lowRankDimension: Int? = nil, subspacePartition: [[Int]]? = nil, groupKey: Int? = nil,
                interventionLinkKey: Int? = nil, interventionType: InterventionType? = nil,
                interventionHyperparameters: [String: JSONCodable]? = nil, sourceRepresentation: [Float]? = nil) {
        self.layer = layer
        self.component = component
        self.unit = unit
        self.maxNumberOfUnits = maxNumberOfUnits
        self.lowRankDimension = lowRankDimension
        self.subspacePartition = subspacePartition
        self.groupKey = groupKey
        self.interventionLinkKey = interventionLinkKey
        self.interventionType = interventionType
        self.interventionHyperparameters = interventionHyperparameters
        self.sourceRepresentation = sourceRepresentation
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case layer, component, unit
        case maxNumberOfUnits = "max_number_of_units"
        case lowRankDimension = "low_rank_dimension"
        case subspacePartition = "subspace_partition"
        case groupKey = "group_key"
        case interventionLinkKey = "intervention_link_key"
        case interventionType = "intervention_type"
        case interventionHyperparameters = "intervention_hyperparameters"
        case sourceRepresentation = "source_representation"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        layer = try c.decode(Int.self, forKey: .layer)
        component = Component(try c.decode(String.self, forKey: .component))
        unit = try RepresentationUnit(pyvene: try c.decodeIfPresent(String.self, forKey: .unit) ?? "pos")
        maxNumberOfUnits = try c.decodeIfPresent(Int.self, forKey: .maxNumberOfUnits) ?? 1
        lowRankDimension = try c.decodeIfPresent(Int.self, forKey: .lowRankDimension)
        subspacePartition = try c.decodeIfPresent([[Int]].self, forKey: .subspacePartition)
        groupKey = try c.decodeIfPresent(Int.self, forKey: .groupKey)
        interventionLinkKey = try c.decodeIfPresent(Int.self, forKey: .interventionLinkKey)
        interventionType = try c.decodeIfPresent(InterventionType.self, forKey: .interventionType)
        interventionHyperparameters = try c.decodeIfPresent([String: JSONCodable].self, forKey: .interventionHyperparameters)
        sourceRepresentation = try c.decodeIfPresent([Float].self, forKey: .sourceRepresentation)
    }

    /// Throws `ConfigurationError.unknownKey` when the representation object `decoder` reads
    /// has a key that is not one of its field names. Strict readers (experiment files) call it;
    /// configs written for pyvene stay readable with pyvene's other fields.
    public static func rejectUnknownKeys(in decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(layer, forKey: .layer)
        try c.encode(component.rawValue, forKey: .component)
        try c.encode(unit.rawValue, forKey: .unit)
        try c.encode(maxNumberOfUnits, forKey: .maxNumberOfUnits)
        try c.encodeIfPresent(lowRankDimension, forKey: .lowRankDimension)
        try c.encodeIfPresent(subspacePartition, forKey: .subspacePartition)
        try c.encodeIfPresent(groupKey, forKey: .groupKey)
        try c.encodeIfPresent(interventionLinkKey, forKey: .interventionLinkKey)
        try c.encodeIfPresent(interventionType, forKey: .interventionType)
        try c.encodeIfPresent(interventionHyperparameters, forKey: .interventionHyperparameters)
        try c.encodeIfPresent(sourceRepresentation, forKey: .sourceRepresentation)
    }

    /// The subspace partition with two-int entries expanded to ranges.
    public var expandedPartition: [[Int]]? {
        subspacePartition?.map { $0.count == 2 && $0[1] > $0[0] ? Array($0[0]..<$0[1]) : $0 }
    }
}

/// How several interventions combine.
public enum InterventionMode: String, Codable, Sendable {
    /// Every source is read from a clean forward pass; all interventions patch the base at once.
    case parallel
    /// A chain: source 0 patches source 1, which patches source 2, …, the last patches the base.
    case serial
}

/// The representations of an intervenable model, pyvene's `IntervenableConfig`.
public struct IntervenableConfig: Codable, Sendable, Equatable {
    /// One entry per intervention, in order.
    public var representations: [RepresentationConfig]
    /// Intervention type for representations that name none (pyvene's `intervention_types`).
    public var interventionTypes: InterventionType?
    /// Parallel (default) or serial.
    public var mode: InterventionMode

    public init(representations: [RepresentationConfig], interventionTypes: InterventionType? = nil, mode: InterventionMode = .parallel) {
        self.representations = representations
        self.interventionTypes = interventionTypes
        self.mode = mode
    }

    /// One representation with a default intervention type.
    public init(_ representation: RepresentationConfig, interventionType: InterventionType? = nil) {
        self.init(representations: [representation], interventionTypes: interventionType)
    }

    enum CodingKeys: String, CodingKey {
        case representations
        case interventionTypes = "intervention_types"
        case mode
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let list = try? c.decode([RepresentationConfig].self, forKey: .representations) {
            representations = list
        } else {
            representations = [try c.decode(RepresentationConfig.self, forKey: .representations)]
        }
        interventionTypes = try c.decodeIfPresent(InterventionType.self, forKey: .interventionTypes)
        let modeText = try c.decodeIfPresent(String.self, forKey: .mode) ?? "parallel"
        guard let m = InterventionMode(rawValue: modeText) else {
            throw ConfigurationError.invalidField(field: "mode", value: "\"\(modeText)\"", allowed: "parallel, serial")
        }
        mode = m
    }

    /// Reads a config from JSON text (pyvene field names).
    public static func decode(json: String) throws -> IntervenableConfig {
        do {
            return try JSONDecoder().decode(IntervenableConfig.self, from: Data(json.utf8))
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw ConfigurationError.malformed("invalid intervenable config: \(DecodingProblem(error).description)")
        }
    }
}
