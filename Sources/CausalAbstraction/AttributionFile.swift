import Foundation
import Intervene

/// The attribution folder `intervene attribute --out DIR` writes: `DIR/attribution.json`, read
/// by the browser. One JSON object with snake_case keys:
///
///     format            "intervene-attribution"
///     version           1
///     kind              "attribution" (what the browser recognises the folder by)
///     prompt, tokens    the prompt and its decoded tokens (position p is tokens[p])
///     target, distractor, source    the answer, its competitor (absent: none) and the source prompt (absent: none)
///     metric            the metric in words, e.g. "logit(\" Paris\") − logit(\" Rome\")"
///     metric_value      the metric on the prompt
///     method            the node attribution method, e.g. "atp" or "ig-input(8)"
///     baseline          "zero" (activation × gradient) or "source" ((source − base) × gradient)
///     seconds           wall-clock seconds of the node attribution
///     nodes             the top nodes by |attribution|, largest first: {kind ("neuron", "head",
///                       "latent"), layer, index, position, token, attribution, key (latents: the SAE's key)}
///     direct_logit_attribution   (absent for models without one) {parts, latents: [{kind, layer,
///                       index (−1: none), value, key}], sum, bias_term, readout}
///     patching          (with a source) {component, method, patching, attribution (layers ×
///                       positions), correlation, base_metric, source_metric}
public struct AttributionFile: Codable, Equatable, Sendable {
    /// One attributed node.
    public struct Node: Codable, Equatable, Sendable {
        public var kind: String
        public var layer: Int, index: Int, position: Int
        public var token: String
        public var attribution: Double
        public var key: String?

        public init(kind: String, layer: Int, index: Int, position: Int, token: String, attribution: Double, key: String? = nil) {
            (self.kind, self.layer, self.index, self.position, self.token, self.attribution, self.key) = (kind, layer, index, position, token, attribution, key)
        }
    }

    /// One part of the direct logit attribution.
    public struct Part: Codable, Equatable, Sendable {
        public var kind: String
        public var layer: Int, index: Int
        public var value: Double
        public var key: String?
    }

    /// The direct logit attribution at the last position.
    public struct DirectLogit: Codable, Equatable, Sendable {
        public var parts: [Part], latents: [Part]
        public var sum: Double, biasTerm: Double, readout: Double
    }

    /// The gradient estimate next to real activation patching, layers × positions.
    public struct Patching: Codable, Equatable, Sendable {
        public var component: String, method: String
        public var patching: [[Double]], attribution: [[Double]]
        public var correlation: Double, baseMetric: Double, sourceMetric: Double
    }

    /// The file name inside the folder.
    public static let fileName = "attribution.json"
    /// The values of `format` and `kind`, and the version written and read.
    public static let format = "intervene-attribution", kind = "attribution", version = 1

    public var format = AttributionFile.format, version = AttributionFile.version, kind = AttributionFile.kind
    public var prompt: String
    public var tokens: [String]
    public var target: String
    public var distractor: String?, source: String?
    public var metric: String
    public var metricValue: Double
    public var method: String
    public var baseline: String
    public var seconds: Double
    public var nodes: [Node]
    public var directLogitAttribution: DirectLogit?
    public var patching: Patching?

    /// The record of one run: the `top` nodes of `nodes` and, when computed, the direct logit
    /// attribution and the patching grids of `component`.
    public init(prompt: String, question: AttributionPrompt, target: String, distractor: String?, source: String?,
                nodes: NodeAttribution, top: Int, grids: AttributionPatching? = nil, component: String? = nil) {
        (self.prompt, tokens, self.target, self.distractor, self.source) = (prompt, question.baseTokens, target, distractor, source)
        (metric, metricValue, method, seconds) = (question.label, nodes.metric, nodes.method.description, nodes.seconds)
        baseline = question.source == nil ? "zero" : "source"
        self.nodes = nodes.top(top).map {
            Node(kind: $0.kind.rawValue, layer: $0.layer, index: $0.index, position: $0.position, token: question.baseTokens[$0.position],
                 attribution: $0.attribution, key: $0.key)
        }
        directLogitAttribution = nodes.directLogitAttribution.map { d in
            func part(_ p: DirectLogitAttribution.Part) -> Part { Part(kind: p.kind, layer: p.layer, index: p.index, value: p.value, key: p.key) }
            return DirectLogit(parts: d.parts.map(part), latents: d.latents.map(part), sum: d.total, biasTerm: d.biasTerm, readout: d.readout)
        }
        patching = grids.map { g in
            Patching(component: component ?? "", method: g.method.description, patching: g.patching, attribution: g.attribution,
                     correlation: g.correlation, baseMetric: g.baseMetric, sourceMetric: g.sourceMetric)
        }
    }

    /// Pretty, key-sorted JSON with snake_case keys.
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(self)
    }

    /// Reads what `json()` writes; throws `ExperimentError.invalid` naming the file for another
    /// format, kind or version, or a file that does not decode.
    public static func read(_ path: String) throws -> AttributionFile {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ExperimentError.invalid(file: path, field: "(file)", value: "unreadable", expected: "a readable \(fileName)")
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let file: AttributionFile
        do { file = try decoder.decode(AttributionFile.self, from: data) } catch {
            throw ExperimentError.invalid(file: path, field: "(file)", value: DecodingProblem(error).description, expected: "the attribution.json of `intervene attribute --out`")
        }
        guard file.format == format, file.kind == kind else {
            throw ExperimentError.invalid(file: path, field: "format", value: "\"\(file.format)\" of kind \"\(file.kind)\"", expected: "\"\(format)\" of kind \"\(kind)\"")
        }
        guard file.version == version else {
            throw ExperimentError.invalid(file: path, field: "version", value: "\(file.version)", expected: "\(version)")
        }
        return file
    }

    /// Writes `attribution.json` into `folder` (created) atomically; returns its path.
    @discardableResult
    public func write(to folder: String) throws -> String {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let path = (folder as NSString).appendingPathComponent(Self.fileName)
        try json().write(to: URL(fileURLWithPath: path), options: .atomic)
        return path
    }
}
