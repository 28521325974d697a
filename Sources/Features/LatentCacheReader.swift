import Tensors

/// Reads `latents.safetensors` of a latent cache against its manifest: every tensor present with
/// the shape the manifest implies, counts in range and consistent (histogram counts sum to the
/// firing counts; filled context slots = min(K, firing)), token ids inside the vocabulary.
struct LatentCacheReader {
    let path: String, manifest: LatentCacheManifest, vocabulary: Int
    let file: SafeTensorsFile

    init(path: String, manifest: LatentCacheManifest, vocabulary: Int) throws {
        self.path = path
        self.manifest = manifest
        self.vocabulary = vocabulary
        do { file = try SafeTensorsFile(path: path) } catch {
            throw LatentCacheError.invalid(path: path, field: "file", found: "\(error)", expected: "a safetensors file")
        }
    }

    func fail(_ field: String, _ found: String, _ expected: String) -> LatentCacheError {
        .invalid(path: path, field: field, found: found, expected: expected)
    }

    func ints(_ name: String, _ shape: [Int], in range: ClosedRange<Int>) throws -> [Int] {
        let t: IndexTensor
        do { t = try file.integers(name) } catch { throw fail(name, "\(error)", "an int64 tensor of shape \(shape)") }
        guard t.shape == shape else { throw fail(name, "shape \(t.shape)", "shape \(shape)") }
        if let bad = t.values.first(where: { !range.contains($0) }) { throw fail(name, "value \(bad)", "values in \(range)") }
        return t.values
    }

    func floats(_ name: String, _ shape: [Int]) throws -> [Float] {
        let t: Tensor
        do { t = try file.tensor(name) } catch { throw fail(name, "\(error)", "a float tensor of shape \(shape)") }
        guard t.shape == shape else { throw fail(name, "shape \(t.shape)", "shape \(shape)") }
        let values = t.scalars
        if let bad = values.first(where: { !$0.isFinite }) { throw fail(name, "value \(bad)", "finite values") }
        return values
    }

    func statistics() throws -> LatentStatistics {
        let m = manifest, l = m.sae.dSae, k = m.top, w = 2 * m.context + 1, tokens = m.corpus.tokens
        guard tokens >= 0 else { throw LatentCacheError.invalid(path: path, field: "corpus.tokens", found: "\(tokens)", expected: "an integer ≥ 0") }
        var s = LatentStatistics(latents: l, topCount: k, contextRadius: m.context, bins: m.bins)
        s.tokens = tokens
        s.firing = try ints("firing", [l], in: 0...tokens)
        s.maximum = try floats("maximum", [l])
        s.meanActivation = try floats("mean_activation", [l])
        s.contextCounts = try ints("top.count", [l], in: 0...k)
        s.contextActivations = try floats("top.activations", [l, k])
        s.contextWindows = try ints("top.windows", [l, k], in: -1...Int.max)
        s.contextPositions = try ints("top.positions", [l, k], in: -1...Int.max)
        s.contextTokens = try ints("top.tokens", [l, k, w], in: -1...Swift.max(vocabulary - 1, -1)).map { Int32($0) }
        s.histogramCounts = try ints("histogram.counts", [l, m.bins], in: 0...tokens)
        s.binWidths = try floats("histogram.bin_width", [l])
        for i in 0..<l {
            guard s.contextCounts[i] == Swift.min(k, s.firing[i]) else {
                throw fail("top.count", "\(s.contextCounts[i]) for latent \(i)", "min(top = \(k), firing = \(s.firing[i]))")
            }
            let histogram = s.histogramCounts[(i * m.bins)..<((i + 1) * m.bins)].reduce(0, +)
            guard histogram == s.firing[i] else {
                throw fail("histogram.counts", "a total of \(histogram) for latent \(i)", "the latent's firing count \(s.firing[i])")
            }
            guard s.binWidths[i] > 0 else { throw fail("histogram.bin_width", "\(s.binWidths[i]) for latent \(i)", "a positive width") }
        }
        return s
    }

    func logitLens() throws -> LatentLogitLens? {
        let n = manifest.logitTokens, l = manifest.sae.dSae
        guard n > 0 else { return nil }
        guard vocabulary > 0 else { throw fail("vocabulary", "empty", "the pieces of every token id (the logit lens names tokens)") }
        let ids = 0...(vocabulary - 1)
        return LatentLogitLens(latents: l, count: n,
                               promotedIds: try ints("logit_lens.promoted_ids", [l, n], in: ids),
                               promotedLogits: try floats("logit_lens.promoted_logits", [l, n]),
                               suppressedIds: try ints("logit_lens.suppressed_ids", [l, n], in: ids),
                               suppressedLogits: try floats("logit_lens.suppressed_logits", [l, n]),
                               normalization: manifest.logitLensNormalization ?? "none")
    }
}
