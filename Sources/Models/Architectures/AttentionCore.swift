import Tensors

/// The part of self-attention every architecture shares: append to the key/value cache, attend
/// (probabilities are tapped as `attention_weight`), merge heads (tapped as
/// `attention_value_output`).
struct AttentionCore {
    let heads: Int
    let kvHeads: Int
    let scale: Float
    let causal: Bool
    /// Sliding window (query i sees keys i − W < j ≤ i); nil: none.
    var window: Int? = nil
    /// Score soft-cap c: s ← c·tanh(s / c) before the mask; nil: none.
    var softCap: Float? = nil

    /// q (B, S, H·hd) and k, v (B, S, Hkv·hd) of the new tokens → merged context (B, S, H·hd).
    func callAsFunction(layer: Int, query q: Tensor, key k: Tensor, value v: Tensor, options: ForwardOptions) throws -> Tensor {
        var keys = k, values = v
        if let cache = options.cache {
            (keys, values) = try cache.append(layer: layer, keys: k, values: v)
        }
        let mask = AttentionMask(causal: causal, keyPadding: options.attentionMask, window: window)
        if let pad = options.attentionMask {
            guard pad.count == q.shape[0], pad.allSatisfy({ $0.count == keys.shape[1] }) else {
                throw ModelError.invalidInput("attention mask must be (B, S_total) = (\(q.shape[0]), \(keys.shape[1]))")
            }
        }
        var probabilities: Tensor
        if options.hooks?.isActive(TapPoint(layer: layer, tap: .attentionScores)) ?? false {
            var scores = Attention.scores(query: q, key: keys, heads: heads, kvHeads: kvHeads, scale: scale, mask: mask, softCap: softCap)
            try options.hooks(layer, .attentionScores, &scores)
            probabilities = scores.softmax()
        } else {
            probabilities = Attention.probabilities(query: q, key: keys, heads: heads, kvHeads: kvHeads, scale: scale, mask: mask,
                                                    softCap: softCap)
        }
        try options.hooks(layer, .attentionWeight, &probabilities)
        var context = Attention.context(probabilities: probabilities, value: values, kvHeads: kvHeads)
        try options.hooks(layer, .attentionValueOutput, &context)
        return context
    }
}

/// Positions (B, S) of the new tokens: given, or continuing the cache.
func resolvePositions(_ options: ForwardOptions, batch: Int, length: Int) throws -> [[Int]] {
    if let p = options.positions {
        guard p.count == batch, p.allSatisfy({ $0.count == length }) else {
            throw ModelError.invalidInput("positions must be (B, S) = (\(batch), \(length))")
        }
        return p
    }
    let start = options.cache?.length ?? 0
    return Array(repeating: Array(start..<(start + length)), count: batch)
}

/// Checks token ids against the vocabulary and returns (B, S).
func checkTokens(_ input: ModelInput, vocabulary: Int, model: String) throws -> IndexTensor {
    guard case .tokens(let ids) = input else {
        throw ModelError.invalidInput("\(model) takes token ids, not input embeddings")
    }
    guard ids.shape.count == 2, ids.shape[0] > 0, ids.shape[1] > 0 else {
        throw ModelError.invalidInput("\(model) expects token ids of shape (B, S) with B, S > 0, got \(ids.shape)")
    }
    if let bad = ids.values.first(where: { $0 < 0 || $0 >= vocabulary }) {
        throw ModelError.invalidInput("token id \(bad) is outside the vocabulary 0..<\(vocabulary) of \(model)")
    }
    return ids
}

/// The standard site table of a decoder-only transformer.
func transformerSiteTable(model: String, layers: Int, hidden: Int, heads: Int, kvHeads: Int, headDim: Int,
                          intermediate: Int, maxPositions: Int, includeQKV: Bool, includeAttentionWeight: Bool) -> SiteTable {
    var specs: [SiteSpec] = [
        SiteSpec(component: .blockInput, unitDimension: hidden),
        SiteSpec(component: .blockOutput, unitDimension: hidden),
        SiteSpec(component: .attentionInput, unitDimension: hidden),
        SiteSpec(component: .attentionOutput, unitDimension: hidden),
        SiteSpec(component: .attentionValueOutput, unitDimension: heads * headDim, pyveneDimension: hidden),
        SiteSpec(component: .headAttentionValueOutput, tap: .attentionValueOutput, view: .heads(heads),
                 unitDimension: headDim, pyveneDimension: hidden / heads),
        SiteSpec(component: .mlpInput, unitDimension: hidden),
        SiteSpec(component: .mlpActivation, unitDimension: intermediate),
        SiteSpec(component: .mlpOutput, unitDimension: hidden),
    ]
    if includeQKV {
        specs += [
            SiteSpec(component: .queryOutput, unitDimension: heads * headDim, pyveneDimension: hidden),
            SiteSpec(component: .keyOutput, unitDimension: kvHeads * headDim, pyveneDimension: hidden),
            SiteSpec(component: .valueOutput, unitDimension: kvHeads * headDim, pyveneDimension: hidden),
            SiteSpec(component: .headQueryOutput, tap: .queryOutput, view: .heads(heads), unitDimension: headDim,
                     pyveneDimension: hidden / heads),
            SiteSpec(component: .headKeyOutput, tap: .keyOutput, view: .heads(kvHeads), unitDimension: headDim,
                     pyveneDimension: hidden / heads),
            SiteSpec(component: .headValueOutput, tap: .valueOutput, view: .heads(kvHeads), unitDimension: headDim,
                     pyveneDimension: hidden / heads),
        ]
    }
    if includeAttentionWeight {
        specs.append(SiteSpec(component: .attentionWeight, unitDimension: maxPositions))
    }
    return SiteTable(modelName: model, layers: layers, specs: specs)
}
