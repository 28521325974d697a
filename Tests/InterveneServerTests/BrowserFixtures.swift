import Foundation
@testable import Features
import InterveneServer
import Tensors

/// A fresh temporary path (not created).
func temporaryPath(_ label: String) -> String {
    NSTemporaryDirectory() + "intervene-browser-\(label)-\(UUID().uuidString)"
}

/// Two documents ("the cat sat on the mat", "a cat ran") with a 4-code k = 1 codebook "cb"
/// and a 3-code k = 2 codebook "cb2", and a 2-neuron table "n": the same codes as FeaturesTests'
/// hand-made set.
func browserCodes() throws -> CollectedCodes {
    let docs = [TokenDocument(ids: [10, 11, 12, 13, 10, 14], pieces: ["the", " cat", " sat", " on", " the", " <mat>"]),
                TokenDocument(ids: [15, 11, 16], pieces: ["a", " cat", " ran\n"])]
    let cb = CollectedCodebook(name: "cb", codeCount: 4, k: 1, ids: [[0, 1, 2, 3, 0, 1], [3, 1, 2]])
    let cb2 = CollectedCodebook(name: "cb2", codeCount: 3, k: 2, ids: [[0, 1, 2, 2, 1, 0, 0, -1, 1, 2, 2, 0], [1, 0, 2, 1, -1, -1]])
    // Rows 0…5 are document 0's tokens, 6…8 document 1's.
    let neurons = Tensor(shape: [9, 2], values: [0, 9, 5, 1, 4, 1, 4, 9, 0, 9, 3, 1, 0, 9, 5, 1, 1, 9])
    return try CollectedCodes(documents: docs, codebooks: [cb, cb2], neurons: ["n": neurons])
}

/// A codebook cache folder of `browserCodes()` with metric loss = 2.5.
func makeCodebookCache() throws -> String {
    let path = temporaryPath("codes")
    try CodebookCache.write(try browserCodes(), to: path, model: .init(type: "gpt2", fingerprint: "intervene-fp1:0000000000000001", source: "test"),
                            bundle: "cb-bundle", metrics: ["loss": 2.5])
    return path
}

/// Pieces of the latent cache's 6-token vocabulary (id 4 needs escaping).
let latentPieces = ["<s>", " the", " cat", " dog", "<b>", "\n"]

/// A latent cache of 3 latents (K = 2 contexts of 3 tokens, 4 bins, a 2-token logit lens) over
/// 10 tokens: latent 0 fires 3 times (z = 2, 1.5, 0.5; bin width 1), latent 1 once (z = 0.5;
/// width 0.25), latent 2 never.
func makeLatentCache() throws -> String {
    var s = LatentStatistics(latents: 3, topCount: 2, contextRadius: 1, bins: 4)
    s.tokens = 10
    s.firing = [3, 1, 0]
    s.maximum = [2, 0.5, 0]
    s.meanActivation = [4.0 / 3, 0.5, 0]
    s.contextCounts = [2, 1, 0]
    s.contextActivations = [2, 1.5, 0.5, 0, 0, 0]
    s.contextWindows = [0, 1, 0, -1, -1, -1]
    s.contextPositions = [2, 3, 1, -1, -1, -1]
    s.contextTokens = [1, 2, 3, 4, 5, -1, -1, 0, 1, -1, -1, -1, -1, -1, -1, -1, -1, -1]
    s.histogramCounts = [1, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0]
    s.binWidths = [1, 0.25, LatentHistogram.smallestBinWidth]
    let lens = LatentLogitLens(latents: 3, count: 2, promotedIds: [4, 3, 1, 2, 0, 1], promotedLogits: [2, 1, 1, 0.5, 0.125, 0],
                               suppressedIds: [0, 1, 5, 4, 2, 3], suppressedLogits: [-2, -1, -1, -0.5, -0.25, 0], normalization: "none")
    let path = temporaryPath("latents")
    try LatentCache.write(to: path, statistics: s, logitLens: lens, pieces: latentPieces,
                          model: .init(type: "gpt2", fingerprint: "intervene-fp1:0000000000000002", source: "tiny"), site: "L0.block_output",
                          sae: .init(source: "hand", dIn: 4, dSae: 3, architecture: "relu", k: nil),
                          corpus: .init(source: "ids", windows: 2, windowTokens: 5, tokens: 10, skipPositions: 0))
    return path
}

/// Both caches loaded (cache 0: codes, cache 1: latents) and their folders, removed by `cleanUp`.
struct BrowserFixture {
    let codebookPath: String, latentPath: String
    let caches: [ServedCache]

    init() throws {
        codebookPath = try makeCodebookCache()
        latentPath = try makeLatentCache()
        caches = [try ServedCache.load(codebookPath), try ServedCache.load(latentPath)]
    }

    func cleanUp() {
        for p in [codebookPath, latentPath] { try? FileManager.default.removeItem(atPath: p) }
    }
}

/// Occurrences of `needle` in `text`.
func occurrences(of needle: String, in text: String) -> Int {
    text.components(separatedBy: needle).count - 1
}
