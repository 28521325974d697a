import CausalAbstraction
import Features
import Foundation
import Intervene
import Tensors

/// An experiment output folder the browser serves, read whole at start-up (the pages never
/// touch the disk again). Formats without a manifest.json are recognised by their files:
///
///     sweep.json (+ cells/, bundles/, results.json)   `intervene sweep --out`
///     results.json (alone)                             `intervene sweep-merge --out` to a new folder
///     trace.json                                       `intervene trace|patch --out`
///     attribution.json (kind "attribution")            `intervene attribute --out`
///     bundle.json                                      a saved intervention or codebook bundle
public enum ExperimentFolder: Sendable {
    /// A sweep: its finished cells and the bundle of each cell that saved one.
    case sweep(SweepContents)
    /// A causal trace or activation-patching result.
    case trace(CausalTrace)
    /// A bundle folder given directly.
    case bundle(BundleContents)
    /// A node attribution run.
    case attribution(AttributionFile)

    /// "sweep", "causal trace", "activation patching", "bundle" or "attribution".
    public var kindDescription: String {
        switch self {
        case .sweep: return "sweep"
        case .trace(let t): return t.kind == "activation_patching" ? "activation patching" : "causal trace"
        case .bundle: return "bundle"
        case .attribution: return "attribution"
        }
    }

    /// The files that mark each kind, in the order they are tried.
    public static let markers = ["sweep.json", "results.json", "trace.json", AttributionFile.fileName, "bundle.json"]

    /// Reads the experiment folder at `path`, or nil when none of `markers` is there. Throws
    /// `ServeError.unreadableCache` naming the file when a marker file does not read.
    public static func load(_ path: String) throws -> ExperimentFolder? {
        func has(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path + "/" + name) }
        guard let marker = markers.first(where: has) else { return nil }
        do {
            switch marker {
            case "sweep.json": return .sweep(try SweepContents.read(path))
            case "results.json": return .sweep(try SweepContents.readMerged(path))
            case "trace.json":
                let trace = try CausalTrace.decode(try Data(contentsOf: URL(fileURLWithPath: path + "/trace.json")))
                for grid in trace.grids { try checkGrid(grid.values, grid.effects, positions: trace.tokens.count, file: path + "/trace.json", field: "grids (\(grid.component))") }
                return .trace(trace)
            case "bundle.json": return .bundle(try BundleContents.read(path))
            default:
                let file = try AttributionFile.read(path + "/" + AttributionFile.fileName)
                if let g = file.patching { try checkGrid(g.attribution, g.patching, positions: file.tokens.count, file: path + "/" + marker, field: "patching") }
                for node in file.nodes where node.position < 0 || node.position >= file.tokens.count {
                    throw ExperimentError.invalid(file: path + "/" + marker, field: "nodes[].position", value: "\(node.position)", expected: "0..<\(file.tokens.count) (one of the tokens)")
                }
                return .attribution(file)
            }
        } catch let error as ServeError {
            throw error
        } catch let error as DecodingError {
            throw ServeError.unreadableCache(path: path + "/" + marker, reason: DecodingProblem(error).description)
        } catch {
            throw ServeError.unreadableCache(path: path + "/" + marker, reason: "\(error)")
        }
    }

    /// Refuses a grid whose two layers × positions arrays differ in shape or whose rows are not
    /// `positions` long (the pages index them freely).
    static func checkGrid(_ a: [[Double]], _ b: [[Double]], positions: Int, file: String, field: String) throws {
        guard a.count == b.count, (a + b).allSatisfy({ $0.count == positions }) else {
            throw ExperimentError.invalid(file: file, field: field, value: "arrays of \(a.count) and \(b.count) layers with rows of \(Set((a + b).map(\.count)).sorted()) values",
                                          expected: "two layers × positions arrays of equal layers, every row one value per token (\(positions))")
        }
    }
}

/// A sweep folder: the manifest's cells, the finished ones (a sweep still running shows what
/// is done) and each cell's bundle read from `bundles/cell-NNNN/`.
public struct SweepContents: Sendable {
    /// The finished cells, in cell order, with the manifest.
    public let results: SweepResults
    /// Cell indices of the manifest without a result yet.
    public let missing: [Int]
    /// The bundle of each cell that has one, by cell index.
    public let bundles: [Int: BundleContents]
    /// Why a cell's bundle folder exists but does not read, by cell index.
    public let bundleErrors: [Int: String]

    public var manifest: SweepManifest { results.manifest }

    /// The result of cell `index`, if finished.
    public func result(_ index: Int) -> SweepCellResult? { results.results.first { $0.cell.index == index } }

    /// The bundle of each of `cells` with a bundles/cell-NNNN/bundle.json, and why any of them does not read.
    static func readBundles(_ cells: [SweepCell], in folder: SweepFolder) -> ([Int: BundleContents], [Int: String]) {
        var bundles: [Int: BundleContents] = [:], errors: [Int: String] = [:]
        for cell in cells where FileManager.default.fileExists(atPath: folder.bundlePath(cell) + "/bundle.json") {
            do { bundles[cell.index] = try BundleContents.read(folder.bundlePath(cell)) } catch { errors[cell.index] = "\(error)" }
        }
        return (bundles, errors)
    }

    /// Reads a folder holding only the merged results.json (of `sweep-merge --out`): the cells,
    /// their swept values and metrics; the heatmap's rows and columns are the default choice
    /// (`SweepSpec.heatmapAxes` without rows or columns given), as results.json does not record them.
    public static func readMerged(_ path: String) throws -> SweepContents {
        let file = path + "/results.json"
        let root = try JSONValue.parse(contentsOf: file)
        func invalid(_ field: String, _ value: JSONValue?, _ expected: String) -> ExperimentError {
            .invalid(file: file, field: field, value: value?.serialized() ?? "missing", expected: expected)
        }
        guard let name = root["experiment"]?.stringValue else { throw invalid("experiment", root["experiment"], "the experiment's name") }
        guard let hash = root["experiment_hash"]?.stringValue else { throw invalid("experiment_hash", root["experiment_hash"], "a string") }
        let metric = root["metric"]?.stringValue ?? "iia"
        guard let items = root["cells"]?.arrayValue else { throw invalid("cells", root["cells"], "a list of cells") }
        var results: [SweepCellResult] = []
        for (n, item) in items.enumerated() {
            guard let index = item["index"]?.intValue, index >= 0 else { throw invalid("cells[\(n)].index", item["index"], "an integer ≥ 0") }
            func label(_ axis: SweepAxis) -> String? { item[axis.rawValue]?.stringValue }
            func number(_ axis: SweepAxis) throws -> Int? {
                guard let text = label(axis) else { return nil }
                guard let value = Int(text) else { throw invalid("cells[\(n)].\(axis.rawValue)", item[axis.rawValue], "an integer as a string") }
                return value
            }
            let cell = SweepCell(index: index, variable: label(.variable), interventionType: label(.interventionType), position: try number(.position),
                                 layer: try number(.layer), lowRankDimension: try number(.lowRankDimension))
            let metrics = (item["metrics"]?.objectValue ?? JSONObject()).compactMap { k, v in v.doubleValue.map { (k, $0) } }
            results.append(SweepCellResult(experimentHash: hash, cellCount: items.count, cell: cell, metrics: Dictionary(metrics) { a, _ in a },
                                           seconds: item["seconds"]?.doubleValue ?? 0))
        }
        guard Set(results.map(\.cell.index)) == Set(0..<results.count) else { throw invalid("cells", nil, "cells indexed 0..<\(results.count), each once") }
        results.sort { $0.cell.index < $1.cell.index }
        let swept = SweepAxis.allCases.filter { axis in results.contains { $0.cell.label(axis) != nil } }
        let preference: [SweepAxis] = [.layer, .lowRankDimension, .position, .interventionType, .variable]
        let rows = preference.first { swept.contains($0) } ?? .layer
        let columns = preference.first { swept.contains($0) && $0 != rows }
        // SweepManifest is made from a plan or decoded: decode the one these cells describe.
        let encoder = JSONEncoder()
        var manifest: [String: Any] = ["experiment_name": name, "experiment_hash": hash, "metric": metric, "rows": rows.rawValue,
                                       "cells": try JSONSerialization.jsonObject(with: try encoder.encode(results.map(\.cell)))]
        if let columns { manifest["columns"] = columns.rawValue }
        let decoded = try JSONDecoder().decode(SweepManifest.self, from: try JSONSerialization.data(withJSONObject: manifest))
        let (bundles, errors) = readBundles(decoded.cells, in: SweepFolder(path))
        return SweepContents(results: SweepResults(manifest: decoded, results: results), missing: [], bundles: bundles, bundleErrors: errors)
    }

    /// Reads sweep.json, every finished cell and every cell's bundle.
    public static func read(_ path: String) throws -> SweepContents {
        let folder = SweepFolder(path)
        let manifest = try folder.readManifest()
        let finished = try folder.finishedCells(hash: manifest.experimentHash)
        let results = manifest.cells.compactMap { finished[$0.index] }
        let (bundles, errors) = readBundles(manifest.cells, in: folder)
        return SweepContents(results: SweepResults(manifest: manifest, results: results),
                             missing: manifest.cells.map(\.index).filter { finished[$0] == nil }, bundles: bundles, bundleErrors: errors)
    }
}

/// A bundle folder as data: bundle.json, the README.md card and the names, dtypes and shapes
/// of the tensors in weights.safetensors (its header only; no values are read).
public struct BundleContents: Sendable {
    /// The folder's last path component.
    public let name: String
    /// bundle.json, whose "format" is an intervention or codebook bundle's.
    public let json: JSONValue
    /// README.md (at most `maxCard` characters), nil when absent.
    public let card: String?
    /// The tensors of weights.safetensors, sorted by name (empty when the file is absent).
    public let tensors: [SafeTensorsFile.Entry]
    /// Whether weights.safetensors exists.
    public let hasWeights: Bool

    /// Longest card shown, in characters.
    public static let maxCard = 200_000
    /// The bundle formats read.
    public static let formats = [InterventionBundle.format, CodebookBundle.format]

    /// Reads the bundle at `path`; throws naming the file for a bundle.json of another format
    /// (an intervention bundle is checked by `InterventionBundle.manifest`) or a weights file
    /// whose header does not validate.
    public static func read(_ path: String) throws -> BundleContents {
        let file = path + "/bundle.json"
        let json: JSONValue
        do { json = try JSONValue.parse(contentsOf: file) } catch { throw BundleError.unreadable(path: file, reason: "\(error)") }
        let format = json["format"]?.stringValue ?? ""
        guard formats.contains(format) else {
            throw BundleError.invalidField(path: file, field: "format", value: json["format"]?.serialized() ?? "missing",
                                           expected: formats.map { "\"\($0)\"" }.joined(separator: " or "))
        }
        if format == InterventionBundle.format { _ = try InterventionBundle.manifest(at: path) }
        let card = (try? String(contentsOfFile: path + "/README.md", encoding: .utf8)).map { String($0.prefix(maxCard)) }
        let weights = path + "/weights.safetensors"
        let hasWeights = FileManager.default.fileExists(atPath: weights)
        var tensors: [SafeTensorsFile.Entry] = []
        if hasWeights {
            let header = try SafeTensorsFile(path: weights)
            tensors = header.names.compactMap { header.entries[$0] }
        }
        return BundleContents(name: URL(fileURLWithPath: path).lastPathComponent, json: json, card: card, tensors: tensors, hasWeights: hasWeights)
    }
}
