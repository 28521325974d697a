import Foundation
import Intervene
import Tensors

/// The result of one finished cell, as written to `cells/cell-NNNN.json` of a sweep folder.
public struct SweepCellResult: Codable, Equatable, Sendable {
    /// The sweep's `SweepPlan.hash`.
    public var experimentHash: String
    /// How many cells the sweep has.
    public var cellCount: Int
    public var cell: SweepCell
    /// The experiment runner's metrics ("iia", "steps", …), timing left out.
    public var metrics: [String: Double]
    /// Wall-clock seconds of the cell: training, evaluation and saving its bundle (not part of
    /// the merged CSV, which stays reproducible).
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case cell, metrics, seconds
        case experimentHash = "experiment_hash", cellCount = "cell_count"
    }

    public init(experimentHash: String, cellCount: Int, cell: SweepCell, metrics: [String: Double], seconds: Double) {
        (self.experimentHash, self.cellCount, self.cell, self.metrics, self.seconds) = (experimentHash, cellCount, cell, metrics, seconds)
    }
}

/// The manifest of a sweep folder (`sweep.json`): which experiment, its cells and the heatmap axes.
public struct SweepManifest: Codable, Equatable, Sendable {
    public var experimentName: String
    public var experimentHash: String
    public var cells: [SweepCell]
    public var rows: SweepAxis
    public var columns: SweepAxis?
    public var metric: String

    enum CodingKeys: String, CodingKey {
        case cells, rows, columns, metric
        case experimentName = "experiment_name", experimentHash = "experiment_hash"
    }

    public init(_ plan: SweepPlan) {
        let axes = plan.spec.heatmapAxes
        (experimentName, experimentHash, cells) = (plan.experiment.name, plan.hash, plan.cells)
        (rows, columns, metric) = (axes.rows, axes.columns, plan.spec.metric ?? "iia")
    }
}

/// A sweep output folder: `sweep.json`, `cells/cell-NNNN.json` (one file per finished cell,
/// written atomically: a temporary file renamed into place), `bundles/cell-NNNN/` (each cell's
/// trained intervention) and, once merged, `results.json`, `results.csv` and `heatmap.svg`.
/// Plain files, so any shared filesystem (or a copy to and from an object store) holds them.
public struct SweepFolder: Sendable {
    public let path: String

    public init(_ path: String) { self.path = path }

    public var manifestPath: String { path + "/sweep.json" }
    public var cellsPath: String { path + "/cells" }
    public func cellPath(_ cell: SweepCell) -> String { cellsPath + "/\(cell.name).json" }
    public func bundlePath(_ cell: SweepCell) -> String { path + "/bundles/\(cell.name)" }

    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }

    /// Writes the manifest, refusing a folder that holds another experiment's sweep
    /// (`SweepError.experimentMismatch`).
    public func prepare(for plan: SweepPlan) throws {
        if FileManager.default.fileExists(atPath: manifestPath) {
            let existing = try readManifest()
            guard existing.experimentHash == plan.hash else {
                throw SweepError.experimentMismatch(folder: path, expected: plan.hash, found: existing.experimentHash)
            }
        }
        try FileManager.default.createDirectory(atPath: cellsPath, withIntermediateDirectories: true)
        try (try SweepFolder.encoder().encode(SweepManifest(plan)) + Data("\n".utf8)).write(to: URL(fileURLWithPath: manifestPath), options: .atomic)
    }

    public func readManifest() throws -> SweepManifest {
        guard let data = FileManager.default.contents(atPath: manifestPath) else { throw SweepError.notASweepFolder(folder: path) }
        do { return try JSONDecoder().decode(SweepManifest.self, from: data) } catch {
            throw SweepError.unreadableCell(file: manifestPath, reason: DecodingProblem(error).description)
        }
    }

    /// Writes a finished cell atomically (a reader never sees half a file).
    public func write(_ result: SweepCellResult) throws {
        try (try SweepFolder.encoder().encode(result) + Data("\n".utf8)).write(to: URL(fileURLWithPath: cellPath(result.cell)), options: .atomic)
    }

    /// The finished cells in the folder by index; files that are not cell results (such as a
    /// temporary file of an interrupted write) are skipped, a cell file that does not parse or
    /// belongs to another experiment throws.
    public func finishedCells(hash: String) throws -> [Int: SweepCellResult] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: cellsPath)) ?? []
        var results: [Int: SweepCellResult] = [:]
        for name in names.sorted() where name.hasPrefix("cell-") && name.hasSuffix(".json") {
            let file = cellsPath + "/" + name
            let result: SweepCellResult
            do { result = try JSONDecoder().decode(SweepCellResult.self, from: try Data(contentsOf: URL(fileURLWithPath: file))) } catch {
                throw SweepError.unreadableCell(file: file, reason: DecodingProblem(error).description)
            }
            guard result.experimentHash == hash else { throw SweepError.experimentMismatch(folder: file, expected: hash, found: result.experimentHash) }
            guard name == result.cell.name + ".json" else { throw SweepError.unreadableCell(file: file, reason: "it holds cell \(result.cell.index)") }
            results[result.cell.index] = result
        }
        return results
    }
}

/// Merged sweep results: every cell of one experiment, gathered from one or more folders.
public struct SweepResults: Sendable {
    public let manifest: SweepManifest
    /// One result per cell, in cell order.
    public let results: [SweepCellResult]

    /// Gathers the cells of `folders` (shard outputs of one sweep). Throws
    /// `SweepError.experimentMismatch` when the folders hold different experiments (by hash),
    /// `SweepError.missingCells` naming the cells no folder has, `notASweepFolder` for a folder
    /// without `sweep.json`. A cell present in several folders is read from the first.
    public static func merge(_ folders: [String]) throws -> SweepResults {
        guard let first = folders.first else { throw SweepError.notASweepFolder(folder: "(none given)") }
        let manifest = try SweepFolder(first).readManifest()
        var found: [Int: SweepCellResult] = [:]
        for folder in folders {
            let other = try SweepFolder(folder).readManifest()
            guard other.experimentHash == manifest.experimentHash else {
                throw SweepError.experimentMismatch(folder: folder, expected: manifest.experimentHash, found: other.experimentHash)
            }
            found.merge(try SweepFolder(folder).finishedCells(hash: manifest.experimentHash)) { old, _ in old }
        }
        let missing = manifest.cells.map(\.index).filter { found[$0] == nil }
        guard missing.isEmpty else { throw SweepError.missingCells(indices: missing, of: manifest.cells.count, folders: folders) }
        for cell in manifest.cells where found[cell.index]!.cell != cell {
            throw SweepError.unreadableCell(file: SweepFolder(folders[0]).cellPath(cell), reason: "its cell values differ from the manifest's")
        }
        return SweepResults(manifest: manifest, results: manifest.cells.map { found[$0.index]! })
    }

    public init(manifest: SweepManifest, results: [SweepCellResult]) { (self.manifest, self.results) = (manifest, results) }

    /// The swept axes (those with a value in some cell), in `SweepAxis` order.
    public var axes: [SweepAxis] { SweepAxis.allCases.filter { axis in results.contains { $0.cell.label(axis) != nil } } }

    /// Every metric name of any cell, sorted.
    public var metricNames: [String] { Set(results.flatMap(\.metrics.keys)).sorted() }

    /// One row per cell: index, the swept axes, every metric (empty when a cell lacks it).
    /// Timing is left out, so equal sweeps give byte-identical files.
    public func csv() -> String {
        let header = ["index"] + axes.map(\.rawValue) + metricNames
        let rows = results.map { r in
            ["\(r.cell.index)"] + axes.map { r.cell.label($0) ?? "" } + metricNames.map { r.metrics[$0].map { "\($0)" } ?? "" }
        }
        return ([header] + rows).map { $0.map(SweepResults.csvField).joined(separator: ",") }.joined(separator: "\n") + "\n"
    }

    static func csvField(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }

    /// The cell with the highest value of the manifest's metric (the first on ties).
    public var best: SweepCellResult? {
        results.max { ($0.metrics[manifest.metric] ?? -.infinity, $1.cell.index) < ($1.metrics[manifest.metric] ?? -.infinity, $0.cell.index) }
    }

    /// results.json: the experiment, its axes and values, the best cell and every cell with its
    /// metrics and seconds.
    public func json() -> String {
        func number(_ d: Double) -> JSONValue { .double(d) }
        let cells: [JSONValue] = results.map { r in
            var fields: [(String, JSONValue)] = [("index", .int(r.cell.index))]
            for axis in axes { if let label = r.cell.label(axis) { fields.append((axis.rawValue, .string(label))) } }
            fields.append(("metrics", .object(JSONObject(r.metrics.sorted { $0.key < $1.key }.map { ($0.key, number($0.value)) }))))
            fields.append(("seconds", number(r.seconds)))
            return .object(JSONObject(fields))
        }
        let axisValues = axes.map { axis in
            (axis.rawValue, JSONValue.array(orderedUnique(results.compactMap { $0.cell.label(axis) }).map(JSONValue.string)))
        }
        var top: [(String, JSONValue)] = [("experiment", .string(manifest.experimentName)), ("experiment_hash", .string(manifest.experimentHash)),
                                         ("metric", .string(manifest.metric)), ("cell_count", .int(results.count)),
                                         ("axes", .object(JSONObject(axisValues))), ("seconds", number(results.map(\.seconds).reduce(0, +)))]
        if let best { top.append(("best", .object(JSONObject([("index", .int(best.cell.index)), (manifest.metric, number(best.metrics[manifest.metric] ?? .nan))])))) }
        top.append(("cells", .array(cells)))
        return JSONValue.object(JSONObject(top)).serialized(indent: 2) + "\n"
    }

    /// Writes results.json, results.csv and heatmap.svg into `folder` (atomically each).
    public func write(to folder: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for (name, text) in [("results.json", json()), ("results.csv", csv()), ("heatmap.svg", SweepHeatmap.svg(self))] {
            try Data(text.utf8).write(to: URL(fileURLWithPath: folder + "/" + name), options: .atomic)
        }
    }
}

/// The distinct values of `values`, in first-seen order.
func orderedUnique(_ values: [String]) -> [String] {
    var seen = Set<String>()
    return values.filter { seen.insert($0).inserted }
}
