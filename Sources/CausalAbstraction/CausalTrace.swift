import Foundation
import Models
import Tensors

/// Which grid to compute: a component restored at each layer — alone (window 1) or with the
/// layers around it, [l − ⌊w/2⌋, l + ⌈w/2⌉) clipped to the model (window w; 10 in the paper for
/// MLP and attention outputs) — and at each position.
public struct TraceGridSpec: Hashable, Sendable, Codable {
    public let component: Component
    public let window: Int

    public init(component: Component, window: Int = 1) {
        self.component = component
        self.window = window
    }

    /// The layers restored for layer `layer` of a model with `layers` layers.
    public func layers(around layer: Int, of layers: Int) -> Range<Int> {
        max(0, layer - window / 2)..<min(layers, layer - window / 2 + window)
    }

    /// "mlp_output" or "mlp_output (window 10)".
    public var label: String { window == 1 ? component.rawValue : "\(component.rawValue) (window \(window))" }
}

/// One grid of a trace: the mean metric with the nodes of (layer, position) restored, over
/// layers × positions, and the indirect effect value − corrupted.
public struct TraceGrid: Codable, Equatable, Sendable {
    public let component: String
    public let window: Int
    /// value(l, p) (layers × positions).
    public let values: [[Double]]
    /// value(l, p) − the corrupted metric: the indirect effect of the node (layers × positions).
    public let effects: [[Double]]
}

/// Causal tracing or activation patching over layers × positions: the clean and corrupted
/// metrics and one grid per requested component and window.
///
/// `trace.json` (written by `write(to:title:)`, read by `decode`): one object with snake_case
/// keys — `format` ("intervene-trace"), `version` (1), `kind`, `tokens`, `metric`, `clean`,
/// `corrupted`, `corrupted_positions`, `noise_std` (absent for patching), `samples`, `seed`,
/// `seconds`, and `grids`: a list of {`component`, `window`, `values`, `effects`}, each grid
/// a list of layers, each layer a list of positions.
public struct CausalTrace: Codable, Sendable {
    /// The file format's name and version.
    public var format = "intervene-trace", version = 1
    /// "causal_tracing" (noise on the subject) or "activation_patching" (a contrastive prompt).
    public let kind: String
    /// The decoded token of each position (of the clean prompt).
    public let tokens: [String]
    /// The metric in words, e.g. `p(" Paris")`.
    public let metric: String
    /// The metric on the clean run, and on the corrupted run(s) (mean over the noise samples).
    public let clean: Double, corrupted: Double
    /// The corrupted positions (subject tokens) or the positions where the prompts differ.
    public let corruptedPositions: [Int]
    /// ν, the noise's standard deviation, and the samples and seed it was drawn with (tracing).
    public let noiseStd: Double?, samples: Int, seed: UInt64?
    public let grids: [TraceGrid]
    /// Wall-clock seconds of the grids.
    public let seconds: Double

    /// The grid of `component` with `window`, if computed.
    public func grid(_ component: Component, window: Int = 1) -> TraceGrid? {
        grids.first { $0.component == component.rawValue && $0.window == window }
    }

    /// Computes `specs` from `runs`: one restoration per (layer, position) and grid, batched
    /// across all of them. Positions before `runs.firstAffected` are not run (their value is the
    /// corrupted metric exactly). Throws `ExperimentError.invalid` for a component that is not
    /// position-major at every layer, or a window < 1.
    public static func grids(_ runs: RestorationRuns, specs: [TraceGridSpec], progress: (Int, Int) -> Void = { _, _ in }) throws -> [TraceGrid] {
        let layers = runs.model.siteTable.layers, length = runs.cleanInput.count
        for spec in specs {
            _ = try AttributionPatching.gridSpec(spec.component, model: runs.model)
            guard spec.window >= 1 else {
                throw ExperimentError.invalid(file: "tracing", field: "window", value: "\(spec.window)", expected: "an integer ≥ 1")
            }
        }
        var cells: [(grid: Int, layer: Int, position: Int)] = [], restorations: [[TraceNode]] = []
        for (g, spec) in specs.enumerated() {
            for layer in 0..<layers {
                for position in runs.firstAffected..<length {
                    cells.append((g, layer, position))
                    restorations.append(spec.layers(around: layer, of: layers).map { TraceNode(site: Site(layer: $0, component: spec.component), position: position) })
                }
            }
        }
        let values = try runs.values(of: restorations, progress: progress)
        var grids = specs.map { _ in [[Double]](repeating: [Double](repeating: runs.corruptedMetric, count: length), count: layers) }
        for (cell, value) in zip(cells, values) { grids[cell.grid][cell.layer][cell.position] = value }
        return zip(specs, grids).map { spec, grid in
            TraceGrid(component: spec.component.rawValue, window: spec.window, values: grid,
                      effects: grid.map { $0.map { $0 - runs.corruptedMetric } })
        }
    }

    /// The sites `specs` restore (every layer of each component).
    public static func sites(for specs: [TraceGridSpec], layers: Int) -> [Site] {
        Array(Set(specs.map(\.component))).sorted().flatMap { c in (0..<layers).map { Site(layer: $0, component: c) } }
    }

    /// Causal tracing: `tokens` with Gaussian noise of standard deviation `noiseStd` on the
    /// embeddings of `subject`, `samples` draws from `seed`; clean activations restored per
    /// (layer, position) for each of `specs`, the metric (by default p(answer)) read at the last
    /// position.
    public static func trace(model: any HookableModel, tokens: [Int], tokenTexts: [String], subject: Range<Int>, metric: AttributionMetric,
                             label: String, specs: [TraceGridSpec], noiseStd: Double, samples: Int, seed: UInt64 = 1, maxRows: Int = 32,
                             progress: (Int, Int) -> Void = { _, _ in }) throws -> CausalTrace {
        guard !subject.isEmpty, subject.lowerBound >= 0, subject.upperBound <= tokens.count else {
            throw ExperimentError.invalid(file: "tracing", field: "subject", value: "tokens \(subject)", expected: "a non-empty range inside 0..<\(tokens.count)")
        }
        guard samples >= 1 else { throw ExperimentError.invalid(file: "tracing", field: "samples", value: "\(samples)", expected: "an integer ≥ 1") }
        guard noiseStd.isFinite, noiseStd > 0 else {
            throw ExperimentError.invalid(file: "tracing", field: "noise", value: "\(noiseStd)", expected: "a standard deviation > 0")
        }
        let width = try model.siteTable.spec(for: Site(layer: 0, component: .tokenEmbedding)).unitDimension
        let noise = TracingNoise.samples(samples, length: tokens.count, width: width, positions: Array(subject), std: noiseStd, seed: seed)
        let start = Date()
        let runs = try RestorationRuns(model: model, cleanInput: tokens, corruptedInput: tokens, noise: noise,
                                       sites: sites(for: specs, layers: model.siteTable.layers), metric: metric, maxRows: maxRows)
        let grids = try Self.grids(runs, specs: specs, progress: progress)
        return CausalTrace(kind: "causal_tracing", tokens: tokenTexts, metric: label, clean: runs.cleanMetric, corrupted: runs.corruptedMetric,
                           corruptedPositions: Array(subject), noiseStd: noiseStd, samples: samples, seed: seed, grids: grids,
                           seconds: Date().timeIntervalSince(start))
    }

    /// Activation patching from a contrastive prompt: the clean prompt's activations patched into
    /// the corrupted prompt's run (as many tokens) per (layer, position) for each of `specs`.
    public static func patch(model: any HookableModel, clean: [Int], corrupted: [Int], tokenTexts: [String], metric: AttributionMetric,
                             label: String, specs: [TraceGridSpec], maxRows: Int = 32, progress: (Int, Int) -> Void = { _, _ in }) throws -> CausalTrace {
        let start = Date()
        let runs = try RestorationRuns(model: model, cleanInput: clean, corruptedInput: corrupted,
                                       sites: sites(for: specs, layers: model.siteTable.layers), metric: metric, maxRows: maxRows)
        let grids = try Self.grids(runs, specs: specs, progress: progress)
        return CausalTrace(kind: "activation_patching", tokens: tokenTexts, metric: label, clean: runs.cleanMetric, corrupted: runs.corruptedMetric,
                           corruptedPositions: clean.indices.filter { clean[$0] != corrupted[$0] }, noiseStd: nil, samples: 1, seed: nil,
                           grids: grids, seconds: Date().timeIntervalSince(start))
    }

    /// The trace as pretty, key-sorted JSON with snake_case keys (`corrupted_positions`, …).
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return try encoder.encode(self)
    }

    /// Reads what `json()` writes.
    public static func decode(_ data: Data) throws -> CausalTrace {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(CausalTrace.self, from: data)
    }

    /// Writes `trace.json` and one heatmap per grid (`<component>[_w<window>].svg`) into
    /// `folder` (created); returns the files written.
    @discardableResult
    public func write(to folder: String, title: String) throws -> [String] {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let jsonPath = (folder as NSString).appendingPathComponent("trace.json")
        try json().write(to: URL(fileURLWithPath: jsonPath), options: .atomic)
        var written = [jsonPath]
        for grid in grids {
            let name = grid.component + (grid.window == 1 ? "" : "_w\(grid.window)") + ".svg"
            let path = (folder as NSString).appendingPathComponent(name)
            let svg = SVGPlot.traceHeatmap(values: grid.values, effects: grid.effects, tokens: tokens, marked: Set(corruptedPositions),
                                           title: "\(title): \(TraceGridSpec(component: .init(grid.component), window: grid.window).label)",
                                           valueName: metric)
            try SVGPlot.write(svg, to: path)
            written.append(path)
        }
        return written
    }
}
