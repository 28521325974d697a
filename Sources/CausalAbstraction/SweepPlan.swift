import Foundation
import Intervene
import Tensors

/// One cell of a sweep: its index in the sweep's fixed order and the value of every swept axis
/// (nil: not swept, or — for `lowRankDimension` — not read by the cell's intervention type).
public struct SweepCell: Codable, Equatable, Sendable {
    public var index: Int
    public var variable: String?
    public var interventionType: String?
    public var position: Int?
    public var layer: Int?
    public var lowRankDimension: Int?

    public init(index: Int, variable: String? = nil, interventionType: String? = nil, position: Int? = nil, layer: Int? = nil,
                lowRankDimension: Int? = nil) {
        (self.index, self.variable, self.interventionType, self.position) = (index, variable, interventionType, position)
        (self.layer, self.lowRankDimension) = (layer, lowRankDimension)
    }

    enum CodingKeys: String, CodingKey {
        case index, variable, position, layer
        case interventionType = "intervention_type", lowRankDimension = "low_rank_dimension"
    }

    /// The file name of the cell's result ("cell-0007.json") and bundle folder ("cell-0007").
    public var name: String { "cell-" + String(format: "%04d", index) }

    /// The cell's value on `axis` as a label; nil when the axis is not swept or does not apply.
    public func label(_ axis: SweepAxis) -> String? {
        switch axis {
        case .variable: return variable
        case .interventionType: return interventionType
        case .position: return position.map(String.init)
        case .layer: return layer.map(String.init)
        case .lowRankDimension: return lowRankDimension.map(String.init)
        }
    }

    /// "layer=1 low_rank_dimension=4 …": the swept values, for progress lines.
    public var summary: String {
        SweepAxis.allCases.compactMap { axis in label(axis).map { "\(axis.rawValue)=\($0)" } }.joined(separator: " ")
    }
}

/// A sweep ready to run: the experiment file, its `sweep` section expanded into cells, and a
/// hash identifying the experiment (shards of one sweep carry the same hash).
///
/// Cells are the Cartesian product variable × intervention type × position × layer × subspace
/// size, in that order (the last varies fastest); subspace sizes multiply only cells whose
/// intervention type reads one (`SweepSpec.rankTypes`).
public struct SweepPlan: Sendable {
    public let experiment: Experiment
    public let spec: SweepSpec
    /// The experiment file, as given.
    public let file: String
    /// "fnv1a64:<16 hex digits>" of the experiment file's JSON with keys sorted and its
    /// `output` section left out (so moving outputs keeps the hash).
    public let hash: String
    public let cells: [SweepCell]

    /// Reads an experiment file with a `sweep` section; throws `ExperimentError` for a file
    /// without one, or a sweep that does not fit the base experiment.
    public static func load(path: String) throws -> SweepPlan {
        let experiment = try Experiment.load(path: path)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ExperimentError.invalid(file: path, field: "(file)", value: "missing", expected: "a readable JSON experiment file")
        }
        let root = try data.withUnsafeBytes { try JSONValue.parse($0) }
        return try SweepPlan(experiment: experiment, file: path, hash: hash(of: root))
    }

    /// A plan for `experiment` (which must have a `sweep` section) identified by `hash`.
    public init(experiment: Experiment, file: String, hash: String) throws {
        guard let spec = experiment.sweep else {
            throw ExperimentError.invalid(file: file, field: "sweep", value: "missing",
                                          expected: "a sweep section, e.g. {\"layers\": [0, 1, 2], \"low_rank_dimensions\": [1, 2, 4, 8]}")
        }
        (self.experiment, self.spec, self.file, self.hash) = (experiment, spec, file, hash)
        func invalid(_ field: String, _ value: String, _ expected: String) -> ExperimentError {
            .invalid(file: file, field: field, value: value, expected: expected)
        }
        for (i, variant) in (spec.variables ?? []).enumerated() {
            if variant.variable != nil, experiment.data.builtin == nil {
                throw invalid("sweep.variables[\(i)]", "\"\(variant.name)\"", "{\"name\": …, \"train\": …, \"test\": …} objects (a variable name needs built-in data)")
            }
            if variant.variable == nil, variant.train == nil || variant.test == nil {
                throw invalid("sweep.variables[\(i)]", "\"\(variant.name)\"", "both \"train\" and \"test\" (a .jsonl path or a list of examples)")
            }
        }
        let baseType = experiment.interventionTypes ?? experiment.representations.first?.interventionType?.name
        func readsRank(_ type: String?) -> Bool { type.map { SweepSpec.rankTypes.contains(InterventionType($0).name) } ?? false }
        if let dims = spec.lowRankDimensions, spec.interventionTypes == nil, !readsRank(baseType) {
            throw invalid("sweep.low_rank_dimensions", "\(dims)",
                          "subspace sizes with an intervention type that reads one (\(SweepSpec.rankTypes.sorted().joined(separator: ", "))); the experiment's is \(baseType ?? "none")")
        }
        func values<T>(_ list: [T]?) -> [T?] { list.map { $0.map(Optional.some) } ?? [nil] }
        var cells: [SweepCell] = []
        for variable in values(spec.variables?.map(\.name)) {
            for type in values(spec.interventionTypes?.map { InterventionType($0).name }) {
                for position in values(spec.positions) {
                    for layer in values(spec.layers) {
                        for rank in readsRank(type ?? baseType) ? values(spec.lowRankDimensions) : [nil] {
                            cells.append(SweepCell(index: cells.count, variable: variable, interventionType: type, position: position,
                                                   layer: layer, lowRankDimension: rank))
                        }
                    }
                }
            }
        }
        self.cells = cells
    }

    /// The base experiment with the cell's values in place; the bundle goes to `bundle` and no
    /// metrics file is written (the sweep writes the cell's result).
    public func experiment(for cell: SweepCell, bundle: String) -> Experiment {
        var e = experiment
        for i in e.representations.indices {
            if let layer = cell.layer { e.representations[i].layer = layer }
            if let rank = cell.lowRankDimension { e.representations[i].lowRankDimension = rank }
            if let type = cell.interventionType { e.representations[i].interventionType = InterventionType(type) }
        }
        if let type = cell.interventionType { e.interventionTypes = type }
        if let name = cell.variable, let variant = spec.variables?.first(where: { $0.name == name }) {
            if let variable = variant.variable { e.data.variable = variable }
            if variant.train != nil || variant.test != nil { (e.data.builtin, e.data.train, e.data.test) = (nil, variant.train, variant.test) }
        }
        e.name = experiment.name + " [\(cell.summary)]"
        e.output = Experiment.OutputSpec(bundle: bundle, metrics: nil)
        e.sweep = nil
        return e
    }

    /// The examples intervened at `position` in base and source (every representation); a
    /// negative position counts from the end of each input. A position outside an input throws
    /// `ExperimentError` naming `sweep.positions`.
    public func at(position: Int?, _ examples: [InterventionExample]) throws -> [InterventionExample] {
        guard let position else { return examples }
        return try examples.enumerated().map { i, example in
            var e = example
            func resolve(_ input: InterventionExample.Input, _ side: String) throws -> Int {
                let resolved = position < 0 ? input.length + position : position
                guard (0..<input.length).contains(resolved) else {
                    throw ExperimentError.invalid(file: file, field: "sweep.positions", value: "\(position)",
                                                  expected: "positions inside every example (example \(i)'s \(side) has \(input.length))")
                }
                return resolved
            }
            (e.basePositions, e.sourcePositions) = ([try resolve(e.base, "base")], [try resolve(e.source, "source")])
            return e
        }
    }

    /// FNV-1a (64-bit) of `root` without its `output` key, serialized with keys sorted.
    public static func hash(of root: JSONValue) -> String {
        var object = root.objectValue ?? JSONObject()
        object = JSONObject(object.filter { $0.key != "output" }.map { ($0.key, $0.value) })
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in sortedKeys(.object(object)).serialized().utf8 { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let hex = String(h, radix: 16)
        return "fnv1a64:" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    static func sortedKeys(_ value: JSONValue) -> JSONValue {
        switch value {
        case .array(let items): return .array(items.map(sortedKeys))
        case .object(let object): return .object(JSONObject(object.sorted { $0.key < $1.key }.map { ($0.key, sortedKeys($0.value)) }))
        default: return value
        }
    }
}
