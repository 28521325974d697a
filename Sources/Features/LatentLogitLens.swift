import Models
import Tensors

/// The tokens each decoder direction promotes and suppresses through the unembedding (the
/// "logit lens" of an SAE latent): for latent i with decoder row d_i = W_dec[i] (D),
///
///     u_i = d_i ⊙ γ                      RMSNorm (γ = w; Gemma's 1 + w)
///     u_i = (d_i − mean(d_i)) ⊙ γ        LayerNorm (its centring is linear; no learned scale: γ = 1)
///     logits_i = u_i W_Uᵀ                (V),  W_U the output head (V, D)
///
/// i.e. the direction passed through the final norm's weight with the norm's division by the
/// token's scale left out (a positive factor per token, the same for every vocabulary entry, so
/// it changes no ranking) and its bias left out (the same vector for every latent). Gemma 2's
/// final logit soft-cap is monotone and is not applied. `promoted` holds the n largest logits of
/// each latent (largest first), `suppressed` the n smallest (smallest first), as (L, n) arrays.
public struct LatentLogitLens: Equatable, Sendable {
    /// L and n.
    public let latents: Int, count: Int
    /// (L, n) token ids and logits, row-major.
    public var promotedIds: [Int], promotedLogits: [Float]
    public var suppressedIds: [Int], suppressedLogits: [Float]
    /// What was applied, for the cache manifest ("rms_norm weight", "layer_norm centring and weight", …).
    public var normalization: String

    /// The n promoted (largest first) or suppressed (smallest first) tokens of latent i.
    public func promoted(_ i: Int) -> [(id: Int, logit: Float)] {
        (0..<count).map { (promotedIds[i * count + $0], promotedLogits[i * count + $0]) }
    }

    public func suppressed(_ i: Int) -> [(id: Int, logit: Float)] {
        (0..<count).map { (suppressedIds[i * count + $0], suppressedLogits[i * count + $0]) }
    }

    public static func == (a: LatentLogitLens, b: LatentLogitLens) -> Bool {
        a.latents == b.latents && a.count == b.count && a.promotedIds == b.promotedIds && a.promotedLogits == b.promotedLogits
            && a.suppressedIds == b.suppressedIds && a.suppressedLogits == b.suppressedLogits && a.normalization == b.normalization
    }

    /// Computes the lens of `decoder` (L, D) through `model`'s final norm and output head, `chunk`
    /// latents per product (memory O(chunk · V)). Throws `SAEError` when D is not the model's
    /// width or n is outside 1...V.
    public static func compute(decoder: Tensor, model: DecoderModel, count n: Int, chunk: Int = 256) throws -> LatentLogitLens {
        let width = model.config.width, vocabulary = model.config.vocabularySize
        guard decoder.rank == 2, decoder.shape[1] == width else {
            throw SAEError.invalid(field: "decoder", value: "shape \(decoder.shape)", allowed: "(d_sae, \(width)): the logit lens needs an SAE on a \(width)-wide residual site")
        }
        guard (1...vocabulary).contains(n) else { throw SAEError.invalid(field: "tokens", value: "\(n)", allowed: "1...\(vocabulary) (the vocabulary)") }
        let parameters = model.parameterDictionary
        guard let head = parameters[model.keyMap.outputHead + ".weight"] else {
            throw SAEError.invalid(field: "model", value: "no \(model.keyMap.outputHead).weight", allowed: "a decoder with an output head")
        }
        let weight = parameters[model.keyMap.finalNorm + ".weight"]?.value
        var directions = decoder.contiguous()
        var applied: [String] = []
        switch model.config.norm {
        case .layerNorm, .nonParametricLayerNorm:
            directions = directions - directions.mean(axis: -1, keepDims: true)
            applied.append("layer_norm centring")
            if let weight { directions = directions * weight; applied.append("weight") }
        case .rmsNorm:
            if let weight { directions = directions * weight; applied.append("rms_norm weight") }
        case .rmsNormPlusOne:
            if let weight { directions = directions * (1 + weight); applied.append("rms_norm (1 + weight)") }
        }
        let latents = decoder.shape[0]
        var lens = LatentLogitLens(latents: latents, count: n, promotedIds: [], promotedLogits: [], suppressedIds: [], suppressedLogits: [],
                                   normalization: applied.isEmpty ? "none" : applied.joined(separator: " and "))
        lens.promotedIds.reserveCapacity(latents * n)
        var negated = [Float](repeating: 0, count: vocabulary)
        // A head kept quantized (GGUF) is multiplied block by block, never decoded whole.
        let unembed: (Tensor) -> Tensor
        if let quantized = head.quantized {
            unembed = { $0.linear(quantized: quantized) }
        } else {
            let headT = head.value.transposed()
            unembed = { $0.matmul(headT) }
        }
        for start in stride(from: 0, to: latents, by: chunk) {
            let rows = Swift.min(chunk, latents - start)
            let logits = unembed(directions.narrowed(0, start: start, length: rows)).contiguous()
            logits.withUnsafeElements { all in
                for r in 0..<rows {
                    let row = UnsafeBufferPointer(rebasing: all[(r * vocabulary)..<((r + 1) * vocabulary)])
                    for id in Tensor.largestIndices(row, k: n) { lens.promotedIds.append(id); lens.promotedLogits.append(row[id]) }
                    for v in 0..<vocabulary { negated[v] = -row[v] }
                    let smallest = negated.withUnsafeBufferPointer { Tensor.largestIndices($0, k: n) }
                    for id in smallest { lens.suppressedIds.append(id); lens.suppressedLogits.append(row[id]) }
                }
            }
        }
        return lens
    }
}
