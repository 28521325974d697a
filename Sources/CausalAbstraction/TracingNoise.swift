import Foundation
import Models
import Tensors

/// The corruption of causal tracing (Meng et al. 2022): Gaussian noise added to the token
/// embeddings of chosen positions (the subject's tokens),
///
///     x_p ← x_p + ε_p,   ε_p ~ N(0, ν² I)  for p in the corrupted positions,   ν = scale · σ
///
/// with σ the standard deviation of the model's token embeddings (every entry, over the
/// vocabulary) and scale 3 as in the paper. One draw per sample, fixed by the seed; every
/// restoration of a trace sees the same samples.
public enum TracingNoise {
    private struct Captured: Error { let embeddings: Tensor }

    /// Reads `hook_embed` and stops the pass there.
    private final class EmbeddingCapture: ActivationHooks {
        let tap: Component
        init(tap: Component) { self.tap = tap }
        func isActive(_ point: TapPoint) -> Bool { point.layer == 0 && point.tap == tap }
        func visit(_ point: TapPoint, step: Int?, _ activation: inout Tensor) throws { throw Captured(embeddings: activation) }
    }

    /// σ: the standard deviation of every entry of the token embeddings (`hook_embed`, after any
    /// embedding scale) of `tokens` — by default the whole vocabulary of a causal language model.
    /// Each pass stops at the embeddings, so this costs no block. Throws a site error when the
    /// model has no `hook_embed`, and `ExperimentError.invalid` without tokens.
    public static func embeddingStandardDeviation(model: any HookableModel, tokens: [Int]? = nil) throws -> Double {
        let spec = try model.siteTable.spec(for: Site(layer: 0, component: .tokenEmbedding))
        let ids = tokens ?? (model as? any CausalLanguageModel).map { Array(0..<$0.vocabularySize) } ?? []
        guard !ids.isEmpty else {
            throw ExperimentError.invalid(file: "tracing", field: "tokens", value: "none", expected: "token ids whose embeddings give the noise scale")
        }
        var (sum, squares, count) = (0.0, 0.0, 0.0)
        for start in stride(from: 0, to: ids.count, by: 4096) {
            let chunk = Array(ids[start..<min(start + 4096, ids.count)])
            var options = ForwardOptions()
            options.hooks = EmbeddingCapture(tap: spec.tap)
            do {
                _ = try Tensor.withoutGradients { try model.forward(.tokens(IndexTensor(shape: [chunk.count, 1], values: chunk)), options: options) }
            } catch let captured as Captured {
                for x in captured.embeddings.scalars {
                    sum += Double(x)
                    squares += Double(x) * Double(x)
                }
                count += Double(captured.embeddings.count)
                continue
            }
            throw ExperimentError.invalid(file: "tracing", field: "model", value: model.modelType, expected: "a model that taps hook_embed")
        }
        let mean = sum / count
        return max(0, squares / count - mean * mean).squareRoot()
    }

    /// `samples` noise tensors (1, length, width), each zero outside `positions` and N(0, std²)
    /// inside, drawn from one generator seeded with `seed`.
    public static func samples(_ samples: Int, length: Int, width: Int, positions: [Int], std: Double, seed: UInt64) -> [Tensor] {
        var generator = RandomGenerator(seed: seed)
        return (0..<samples).map { _ in
            let draws = Tensor.randomNormal([positions.count, width], std: Float(std), using: &generator).scalars
            var values = [Float](repeating: 0, count: length * width)
            for (i, p) in positions.enumerated() {
                values.replaceSubrange((p * width)..<((p + 1) * width), with: draws[(i * width)..<((i + 1) * width)])
            }
            return Tensor(shape: [1, length, width], values: values)
        }
    }
}

extension TokenizedText {
    /// The tokens that overlap the `occurrence`-th occurrence of `substring` in the text (a
    /// contiguous range); nil when it does not occur. " Eiffel Tower" in "The Eiffel Tower is" is
    /// every token of " Eiffel Tower".
    public func tokenRange(of substring: String, occurrence: Int = 1) -> Range<Int>? {
        guard let range = TokenPosition.codePointRange(of: substring, in: text, occurrence: occurrence) else { return nil }
        let overlapping = encoding.offsets.indices.filter {
            encoding.offsets[$0].lowerBound < range.upperBound && encoding.offsets[$0].upperBound > range.lowerBound
        }
        guard let first = overlapping.first, let last = overlapping.last else { return nil }
        return first..<(last + 1)
    }
}
