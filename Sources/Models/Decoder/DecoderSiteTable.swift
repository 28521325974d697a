import Tensors

extension DecoderConfig {
    /// Every site a decoder of this configuration taps: pyvene's components under pyvene's
    /// names, TransformerLens's hooks under theirs (with TransformerLens layouts), and the shape
    /// of each written beside it. B batch, S positions, D width, H query heads, K key/value heads,
    /// d head width, I MLP width, P key positions.
    public var siteTable: SiteTable {
        let d = width, qw = queryWidth, kvw = keyValueWidth, hd = headDim, pyHead = headDim
        var specs: [SiteSpec] = [
            // Residual stream.
            SiteSpec(component: .blockInput, unitDimension: d, shape: "[B, S, D] (hook_resid_pre)"),
            SiteSpec(component: .blockOutput, unitDimension: d, shape: "[B, S, D] (hook_resid_post)"),
            SiteSpec(component: .tokenEmbedding, unitDimension: d, layers: .first, shape: "[B, S, D]"),
            SiteSpec(component: .finalNormOutput, unitDimension: d, layers: .last, shape: "[B, S, D]"),
            // Attention.
            SiteSpec(component: .attentionInput, unitDimension: d, shape: "[B, S, D] (ln1.hook_normalized)"),
            SiteSpec(component: .queryOutput, unitDimension: qw, pyveneDimension: d, shape: "[B, S, H·d] before rotary"),
            SiteSpec(component: .keyOutput, unitDimension: kvw, pyveneDimension: d, shape: "[B, S, K·d] before rotary"),
            SiteSpec(component: .valueOutput, unitDimension: kvw, pyveneDimension: d, shape: "[B, S, K·d]"),
            SiteSpec(component: .headQueryOutput, tap: .queryOutput, view: .heads(heads), unitDimension: hd, pyveneDimension: pyHead,
                     shape: "[B, H, S, d]"),
            SiteSpec(component: .headKeyOutput, tap: .keyOutput, view: .heads(kvHeads), unitDimension: hd, pyveneDimension: pyHead,
                     shape: "[B, K, S, d]"),
            SiteSpec(component: .headValueOutput, tap: .valueOutput, view: .heads(kvHeads), unitDimension: hd, pyveneDimension: pyHead,
                     shape: "[B, K, S, d]"),
            SiteSpec(component: .tlQuery, tap: .queryOutput, view: .positionHeads(heads), unitDimension: qw, shape: "[B, S, H, d]"),
            SiteSpec(component: .tlKey, tap: .keyOutput, view: .positionHeads(kvHeads), unitDimension: kvw, shape: "[B, S, K, d]"),
            SiteSpec(component: .tlValue, tap: .valueOutput, view: .positionHeads(kvHeads), unitDimension: kvw, shape: "[B, S, K, d]"),
            SiteSpec(component: .attentionScores, unitDimension: contextLength, shape: "[B, H, S, P] masked with −∞"),
            SiteSpec(component: .attentionWeight, unitDimension: contextLength, shape: "[B, H, S, P] (attn.hook_pattern)"),
            SiteSpec(component: .attentionValueOutput, unitDimension: qw, pyveneDimension: d, shape: "[B, S, H·d]"),
            SiteSpec(component: .headAttentionValueOutput, tap: .attentionValueOutput, view: .heads(heads), unitDimension: hd,
                     pyveneDimension: pyHead, shape: "[B, H, S, d]"),
            SiteSpec(component: .tlZ, tap: .attentionValueOutput, view: .positionHeads(heads), unitDimension: qw, shape: "[B, S, H, d]"),
            SiteSpec(component: .headResult, unitDimension: d, shape: "[B, H, S, D]"),
            SiteSpec(component: .tlResult, tap: .headResult, view: .positionMajor, unitDimension: d, shape: "[B, S, H, D]"),
            SiteSpec(component: .attentionOutput, unitDimension: d, shape: "[B, S, D]"),
            SiteSpec(component: .tlAttentionOut, unitDimension: d, shape: "[B, S, D] added to the residual stream"),
            // MLP.
            SiteSpec(component: .mlpInput, unitDimension: d, shape: "[B, S, D] (ln2.hook_normalized)"),
            SiteSpec(component: .mlpPreActivation, unitDimension: intermediate, shape: "[B, S, I]"),
            SiteSpec(component: .mlpActivation, unitDimension: intermediate, shape: "[B, S, I] act(pre)"),
            SiteSpec(component: .mlpPostActivation, unitDimension: intermediate, shape: "[B, S, I]"),
            SiteSpec(component: .mlpOutput, unitDimension: d, shape: "[B, S, D]"),
            SiteSpec(component: .tlMLPOut, unitDimension: d, shape: "[B, S, D] added to the residual stream"),
        ]
        if positions == .learned {
            specs.append(SiteSpec(component: .positionEmbedding, unitDimension: d, layers: .first, shape: "[B, S, D]"))
        }
        if case .parallel = residual {} else {
            specs.append(SiteSpec(component: .residualMiddle, unitDimension: d, shape: "[B, S, D]"))
        }
        return SiteTable(modelName: modelType, layers: layers, specs: specs)
    }
}
