import CausalAbstraction
import Features
import Foundation
import Intervene
import Tensors

/// An experiment output folder the browser serves, read whole at start-up (the pages never
/// touch the disk again). Formats without a manifest.json are recognised by their files:
///
///     sweep.json (+ cells/, bundles/, results.json)   `intervene sweep --out` or `sweep-merge`
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
    public static let markers = ["sweep.json", "trace.json", AttributionFile.fileName, "bundle.json"]

    /// Reads the experiment folder at `path`, or nil when none of `markers` is there. Throws
    /// `ServeError.unreadableCache` naming the file when a marker file does not read.
    public static func load(_ path: String) throws -> ExperimentFolder? {
        func has(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path + "/" + name) }
        guard let marker = markers.first(where: has) else { return nil }
        do {
            switch marker {
            case "sweep.json": return .sweep(try SweepContents.read(path))
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

    /// Reads sweep.json, every finished cell and every cell's bundle.
    public static func read(_ path: String) throws -> SweepContents {
        let folder = SweepFolder(path)
        let manifest = try folder.readManifest()
        let finished = try folder.finishedCells(hash: manifest.experimentHash)
        let results = manifest.cells.compactMap { finished[$0.index] }
        var bundles: [Int: BundleContents] = [:], errors: [Int: String] = [:]
        for cell in manifest.cells where FileManager.default.fileExists(atPath: folder.bundlePath(cell) + "/bundle.json") {
            do { bundles[cell.index] = try BundleContents.read(folder.bundlePath(cell)) } catch { errors[cell.index] = "\(error)" }
        }
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
