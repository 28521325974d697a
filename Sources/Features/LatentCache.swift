import Foundation
import Intervene
import Tensors

/// A latent cache folder: per-latent statistics of a sparse autoencoder over a corpus, written by
/// `intervene sae latents` and read by the browser. L latents, K contexts of W = 2c + 1 tokens,
/// B bins, n logit-lens tokens, V vocabulary entries.
///
/// Format (version 1):
///
///     manifest.json        LatentCacheManifest: {"kind": "sae-latents", "version": 1, "created",
///                          "model": {"type", "fingerprint", "source"}, "site",
///                          "sae": {"source", "d_in", "d_sae": L, "architecture", "k"},
///                          "corpus": {"source", "windows", "window_tokens", "tokens", "skip_positions"},
///                          "top": K, "context": c, "bins": B, "logit_tokens": n,
///                          "logit_lens_normalization", "files": {"latents": "latents.safetensors",
///                          "vocabulary": "vocabulary.json"}, "metrics": {"mean_l0", "dead_fraction",
///                          "dense_fraction"}}
///     latents.safetensors  "firing" (L) int64: tokens with z > 0; "maximum", "mean_activation" (L) f32
///                          "top.count" (L) int64: filled context slots
///                          "top.activations" (L, K) f32, largest first; "top.windows", "top.positions"
///                          (L, K) int64 (−1 unfilled); "top.tokens" (L, K, W) int64, −1 outside the window
///                          "histogram.counts" (L, B) int64; "histogram.bin_width" (L) f32: bin j holds
///                          j·w ≤ z < (j+1)·w (see `LatentHistogram`)
///                          with n > 0: "logit_lens.promoted_ids", "logit_lens.suppressed_ids" (L, n)
///                          int64 and "logit_lens.promoted_logits", "logit_lens.suppressed_logits" (L, n) f32
///     vocabulary.json      {"pieces": [string]}: token id → that token decoded alone
///
/// Writing is atomic. Reading checks the kind, the version, every shape and the consistency of
/// counts, and throws `LatentCacheError` naming the file and field.
public enum LatentCache {
    public static let kind = "sae-latents"
    public static let version = 1
    static let latentsFile = "latents.safetensors", vocabularyFile = "vocabulary.json"

    /// A cache folder's contents.
    public struct Contents: Equatable, Sendable {
        public var manifest: LatentCacheManifest
        public var statistics: LatentStatistics
        public var logitLens: LatentLogitLens?
        /// Token id → decoded piece.
        public var pieces: [String]
    }

    /// Writes a cache to `path` (replacing it). `pieces` decodes every token id of the model.
    @discardableResult
    public static func write(to path: String, statistics s: LatentStatistics, logitLens: LatentLogitLens?, pieces: [String],
                             model: LatentCacheManifest.Model, site: String, sae: LatentCacheManifest.Autoencoder,
                             corpus: LatentCacheManifest.Corpus) throws -> LatentCacheManifest {
        let l = s.latents, k = s.topCount, w = s.contextWidth
        func ints(_ v: [Int], _ shape: [Int]) -> SafeTensorsWriter.Item { .int64(IndexTensor(shape: shape, values: v)) }
        func floats(_ v: [Float], _ shape: [Int]) -> SafeTensorsWriter.Item { .float(Tensor(shape: shape, values: v)) }
        var items: [String: SafeTensorsWriter.Item] = [
            "firing": ints(s.firing, [l]), "maximum": floats(s.maximum, [l]), "mean_activation": floats(s.meanActivation, [l]),
            "top.count": ints(s.contextCounts, [l]), "top.activations": floats(s.contextActivations, [l, k]),
            "top.windows": ints(s.contextWindows, [l, k]), "top.positions": ints(s.contextPositions, [l, k]),
            "top.tokens": ints(s.contextTokens.map { Int($0) }, [l, k, w]),
            "histogram.counts": ints(s.histogramCounts, [l, s.bins]), "histogram.bin_width": floats(s.binWidths, [l]),
        ]
        if let lens = logitLens {
            items["logit_lens.promoted_ids"] = ints(lens.promotedIds, [l, lens.count])
            items["logit_lens.promoted_logits"] = floats(lens.promotedLogits, [l, lens.count])
            items["logit_lens.suppressed_ids"] = ints(lens.suppressedIds, [l, lens.count])
            items["logit_lens.suppressed_logits"] = floats(lens.suppressedLogits, [l, lens.count])
        }
        let fired = s.firing.reduce(0, +), tokens = Double(Swift.max(s.tokens, 1))
        let manifest = LatentCacheManifest(
            kind: kind, version: version, created: ISO8601DateFormatter().string(from: Date()), model: model, site: site, sae: sae,
            corpus: corpus, top: k, context: s.contextRadius, bins: s.bins, logitTokens: logitLens?.count ?? 0,
            logitLensNormalization: logitLens?.normalization, files: ["latents": latentsFile, "vocabulary": vocabularyFile],
            metrics: ["mean_l0": Double(fired) / tokens, "dead_fraction": Double(s.firing.filter { $0 == 0 }.count) / Double(l),
                      "dense_fraction": Double(s.firing.filter { Double($0) > 0.1 * tokens }.count) / Double(l)])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        try FileSystem.writeDirectoryAtomically(path) { temporary in
            try SafeTensorsWriter.write(items, metadata: ["kind": kind], to: temporary + "/" + latentsFile)
            try encoder.encode(["pieces": pieces]).write(to: URL(fileURLWithPath: temporary + "/" + vocabularyFile))
            try encoder.encode(manifest).write(to: URL(fileURLWithPath: temporary + "/manifest.json"))
        }
        return manifest
    }

    /// Reads and checks `manifest.json` only.
    public static func manifest(at path: String) throws -> LatentCacheManifest {
        let file = path + "/manifest.json"
        guard let bytes = FileManager.default.contents(atPath: file) else {
            throw LatentCacheError.invalid(path: path, field: "manifest.json", found: "no such file", expected: "a latent cache folder")
        }
        let head = try? JSONSerialization.jsonObject(with: bytes) as? [String: Any]
        guard let k = head?["kind"] as? String, k == kind else {
            throw LatentCacheError.invalid(path: file, field: "kind", found: "\(head?["kind"] ?? "missing")", expected: "\"\(kind)\"")
        }
        guard let v = head?["version"] as? Int, v == version else {
            throw LatentCacheError.invalid(path: file, field: "version", found: "\(head?["version"] ?? "missing")", expected: "\(version)")
        }
        let m: LatentCacheManifest
        do { m = try JSONDecoder().decode(LatentCacheManifest.self, from: bytes) } catch {
            throw LatentCacheError.invalid(path: file, field: "manifest", found: DecodingProblem(error).description, expected: "a version 1 manifest")
        }
        func require(_ ok: Bool, _ field: String, _ value: Int, _ expected: String) throws {
            guard ok else { throw LatentCacheError.invalid(path: file, field: field, found: "\(value)", expected: expected) }
        }
        try require(m.sae.dSae >= 1, "sae.d_sae", m.sae.dSae, "an integer ≥ 1")
        try require(m.top >= 1, "top", m.top, "an integer ≥ 1")
        try require(m.context >= 0, "context", m.context, "an integer ≥ 0")
        try require(m.bins >= 2 && m.bins % 2 == 0, "bins", m.bins, "an even integer ≥ 2")
        try require(m.logitTokens >= 0, "logit_tokens", m.logitTokens, "an integer ≥ 0")
        return m
    }

    /// Reads a cache folder, checking it against its manifest.
    public static func read(from path: String) throws -> Contents {
        let m = try manifest(at: path)
        let vocabularyPath = path + "/" + (m.files["vocabulary"] ?? vocabularyFile)
        let pieces: [String]
        do { pieces = try JSONDecoder().decode([String: [String]].self, from: try Data(contentsOf: URL(fileURLWithPath: vocabularyPath)))["pieces"] ?? [] } catch {
            throw LatentCacheError.invalid(path: vocabularyPath, field: "pieces", found: "\(error)", expected: "{\"pieces\": [string]}")
        }
        let reader = try LatentCacheReader(path: path + "/" + (m.files["latents"] ?? latentsFile), manifest: m, vocabulary: pieces.count)
        return Contents(manifest: m, statistics: try reader.statistics(), logitLens: try reader.logitLens(), pieces: pieces)
    }
}

/// A latent cache that cannot be read; names the file, the field, what was found and what was expected.
public enum LatentCacheError: Error, CustomStringConvertible, Equatable {
    case invalid(path: String, field: String, found: String, expected: String)

    public var description: String {
        switch self {
        case .invalid(let path, let field, let found, let expected): return "\(path): '\(field)' is \(found); expected \(expected)"
        }
    }
}
