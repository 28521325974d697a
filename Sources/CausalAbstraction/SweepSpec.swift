import Foundation
import Intervene
import Tensors

/// One dimension of an alignment sweep; its raw value is the name used in experiment files,
/// results and the CSV header.
public enum SweepAxis: String, CaseIterable, Codable, Sendable {
    /// The data a cell trains and tests on: a built-in task's causal variable, or named data.
    case variable
    /// The intervention type (pyvene class name).
    case interventionType = "intervention_type"
    /// The base and source position every example is intervened at.
    case position
    /// The layer of every representation.
    case layer
    /// The subspace size (`low_rank_dimension`) of every representation; only for types that read it.
    case lowRankDimension = "low_rank_dimension"
}

/// The `sweep` section of an experiment file: lists of values, one cell per combination, each
/// cell the base experiment with those fields replaced.
///
/// ```json
/// "sweep": {"layers": [0, 1, 2], "low_rank_dimensions": [1, 2, 4, 8],
///           "intervention_types": ["LowRankRotatedSpaceIntervention", "VanillaIntervention"],
///           "variables": ["left_equality", "right_equality"], "positions": [0],
///           "rows": "layer", "columns": "low_rank_dimension", "metric": "iia"}
/// ```
///
/// - `layers`: replaces `representations[*].layer`.
/// - `positions`: replaces every example's base and source positions (one index; negative
///   counts from the end).
/// - `low_rank_dimensions`: replaces `representations[*].low_rank_dimension` (the DAS subspace
///   size k). It multiplies only cells whose intervention type reads a rank
///   (`SweepSpec.rankTypes`); other types get one cell without it.
/// - `intervention_types`: replaces `intervention_types` and every representation's
///   `intervention_type`.
/// - `variables`: a built-in task's causal variable name (replaces `data.variable`), or
///   `{"name": …, "train": …, "test": …}` replacing `data.train`/`data.test` (a .jsonl path or an
///   inline list, as in `data`).
/// - `rows`/`columns`: the heatmap's axes (defaults: layer × the first other swept axis);
///   every other swept axis gets its own panel. `metric`: the plotted metric (default "iia").
public struct SweepSpec: Decodable, Sendable, Equatable {
    /// One entry of `variables`.
    public struct DataVariant: Decodable, Sendable, Equatable {
        /// The label in results ("left_equality", or the given name).
        public var name: String
        /// The built-in task's variable; nil for named data.
        public var variable: String?
        public var train: JSONCodable?
        public var test: JSONCodable?

        public init(name: String, variable: String? = nil, train: JSONCodable? = nil, test: JSONCodable? = nil) {
            (self.name, self.variable, self.train, self.test) = (name, variable, train, test)
        }

        enum CodingKeys: String, CodingKey, CaseIterable { case name, train, test }

        public init(from decoder: Decoder) throws {
            if let name = try? decoder.singleValueContainer().decode(String.self) {
                self.init(name: name, variable: name)
                return
            }
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            self.init(name: try c.decode(String.self, forKey: .name), train: try c.decodeIfPresent(JSONCodable.self, forKey: .train),
                      test: try c.decodeIfPresent(JSONCodable.self, forKey: .test))
        }
    }

    public var layers: [Int]?
    public var positions: [Int]?
    public var lowRankDimensions: [Int]?
    public var interventionTypes: [String]?
    public var variables: [DataVariant]?
    public var rows: SweepAxis?
    public var columns: SweepAxis?
    public var metric: String?

    /// Intervention types that read `low_rank_dimension`.
    public static let rankTypes: Set<String> = ["LowRankRotatedSpaceIntervention", "AutoencoderIntervention", "JumpReLUAutoencoderIntervention"]

    public init(layers: [Int]? = nil, positions: [Int]? = nil, lowRankDimensions: [Int]? = nil, interventionTypes: [String]? = nil,
                variables: [DataVariant]? = nil, rows: SweepAxis? = nil, columns: SweepAxis? = nil, metric: String? = nil) {
        (self.layers, self.positions, self.lowRankDimensions, self.interventionTypes) = (layers, positions, lowRankDimensions, interventionTypes)
        (self.variables, self.rows, self.columns, self.metric) = (variables, rows, columns, metric)
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case layers, positions, rows, columns, metric, variables
        case lowRankDimensions = "low_rank_dimensions", interventionTypes = "intervention_types"
    }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func axis(_ key: CodingKeys) throws -> SweepAxis? {
            guard let name = try c.decodeIfPresent(String.self, forKey: key) else { return nil }
            guard let axis = SweepAxis(rawValue: name) else {
                throw ConfigurationError.invalidField(field: "sweep.\(key.rawValue)", value: "\"\(name)\"",
                                                      allowed: SweepAxis.allCases.map(\.rawValue).joined(separator: ", "))
            }
            return axis
        }
        self.init(layers: try c.decodeIfPresent([Int].self, forKey: .layers), positions: try c.decodeIfPresent([Int].self, forKey: .positions),
                  lowRankDimensions: try c.decodeIfPresent([Int].self, forKey: .lowRankDimensions),
                  interventionTypes: try c.decodeIfPresent([String].self, forKey: .interventionTypes),
                  variables: try c.decodeIfPresent([DataVariant].self, forKey: .variables),
                  rows: try axis(.rows), columns: try axis(.columns), metric: try c.decodeIfPresent(String.self, forKey: .metric))
        try validate()
    }

    /// The values of each swept axis as labels, in sweep order (axes not swept are absent).
    public var sweptAxes: [SweepAxis: [String]] {
        var axes: [SweepAxis: [String]] = [:]
        axes[.variable] = variables?.map(\.name)
        axes[.interventionType] = interventionTypes?.map { InterventionType($0).name }
        axes[.position] = positions?.map(String.init)
        axes[.layer] = layers?.map(String.init)
        axes[.lowRankDimension] = lowRankDimensions?.map(String.init)
        return axes
    }

    /// Throws `ConfigurationError.invalidField` naming the first field that cannot sweep: an
    /// empty section or list, a repeated value, an unknown intervention type, subspace sizes no
    /// swept type reads, or heatmap axes that are not swept or coincide.
    public func validate() throws {
        func bad(_ field: String, _ value: String, _ allowed: String) -> ConfigurationError {
            .invalidField(field: "sweep.\(field)", value: value, allowed: allowed)
        }
        let lists: [(String, [String]?)] = [("layers", layers?.map(String.init)), ("positions", positions?.map(String.init)),
                                            ("low_rank_dimensions", lowRankDimensions?.map(String.init)),
                                            ("intervention_types", interventionTypes?.map { InterventionType($0).name }), ("variables", variables?.map(\.name))]
        guard lists.contains(where: { $0.1 != nil }) else {
            throw ConfigurationError.invalidField(field: "sweep", value: "{}", allowed: "at least one of layers, positions, low_rank_dimensions, intervention_types, variables")
        }
        for (name, values) in lists {
            guard let values else { continue }
            guard !values.isEmpty else { throw bad(name, "[]", "a non-empty list") }
            if let repeated = values.enumerated().first(where: { values[..<$0.offset].contains($0.element) }) {
                throw bad("\(name)[\(repeated.offset)]", repeated.element, "values that do not repeat")
            }
        }
        for (i, d) in (lowRankDimensions ?? []).enumerated() where d < 1 { throw bad("low_rank_dimensions[\(i)]", "\(d)", "an integer ≥ 1") }
        for (i, name) in (interventionTypes ?? []).enumerated() where InterventionRegistry.shared.canonicalName(name) == nil {
            throw bad("intervention_types[\(i)]", "\"\(name)\"", InterventionRegistry.shared.typeNames.joined(separator: ", "))
        }
        if lowRankDimensions != nil, let types = interventionTypes, !types.contains(where: { SweepSpec.rankTypes.contains(InterventionType($0).name) }) {
            throw bad("low_rank_dimensions", "\(lowRankDimensions!)", "subspace sizes only with an intervention type that reads one: \(SweepSpec.rankTypes.sorted().joined(separator: ", "))")
        }
        for (i, v) in (variables ?? []).enumerated() where v.name.isEmpty { throw bad("variables[\(i)].name", "\"\"", "a non-empty name") }
        let swept = sweptAxes
        for (name, axis) in [("rows", rows), ("columns", columns)] {
            if let axis, swept[axis] == nil { throw bad(name, "\"\(axis.rawValue)\"", "a swept axis: \(SweepAxis.allCases.filter { swept[$0] != nil }.map(\.rawValue).joined(separator: ", "))") }
        }
        if let rows, rows == columns { throw bad("columns", "\"\(rows.rawValue)\"", "an axis other than rows") }
        if let metric, metric.isEmpty { throw bad("metric", "\"\"", "a metric name such as iia") }
    }

    /// The heatmap's row and column axes: `rows`/`columns` when given, else layer (when swept)
    /// and the first other swept axis in the order low_rank_dimension, position,
    /// intervention_type, variable. Column is nil when only one axis is swept.
    public var heatmapAxes: (rows: SweepAxis, columns: SweepAxis?) {
        let swept = SweepAxis.allCases.filter { sweptAxes[$0] != nil }
        let preference: [SweepAxis] = [.layer, .lowRankDimension, .position, .interventionType, .variable]
        let row = rows ?? preference.first { swept.contains($0) && $0 != columns } ?? swept[0]
        let column = (columns != row ? columns : nil) ?? preference.first { swept.contains($0) && $0 != row }
        return (row, column)
    }
}
