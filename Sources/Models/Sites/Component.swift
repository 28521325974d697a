/// The name of a hook site inside one layer of a model: where an activation is read or
/// replaced. pyvene's names are used on the wire ("block_output", "head_query_output", …);
/// TransformerLens names parse as aliases through `Site(parsing:)`.
///
/// Architectures may define components of their own: `Component("my_gate")`.
public struct Component: RawRepresentable, Hashable, Codable, Sendable, ExpressibleByStringLiteral,
    CustomStringConvertible, Comparable {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }
    public static func < (a: Component, b: Component) -> Bool { a.rawValue < b.rawValue }

    // Residual stream.
    /// The residual stream entering a block.
    public static let blockInput: Component = "block_input"
    /// The residual stream leaving a block (before the final norm for the last block).
    public static let blockOutput: Component = "block_output"
    // Attention.
    /// The normalised input of the attention sublayer.
    public static let attentionInput: Component = "attention_input"
    /// Query projection output, heads merged (before rotary embeddings).
    public static let queryOutput: Component = "query_output"
    /// Key projection output, heads merged (before rotary embeddings).
    public static let keyOutput: Component = "key_output"
    /// Value projection output, heads merged.
    public static let valueOutput: Component = "value_output"
    /// Query projection output split into heads: (B, H, S, head_dim).
    public static let headQueryOutput: Component = "head_query_output"
    /// Key projection output split into key/value heads.
    public static let headKeyOutput: Component = "head_key_output"
    /// Value projection output split into key/value heads.
    public static let headValueOutput: Component = "head_value_output"
    /// Attention probabilities (B, H, S_query, S_key).
    public static let attentionWeight: Component = "attention_weight"
    /// Attention-weighted values with heads merged, before the output projection.
    public static let attentionValueOutput: Component = "attention_value_output"
    /// The same split into heads (B, H, S, head_dim).
    public static let headAttentionValueOutput: Component = "head_attention_value_output"
    /// The attention sublayer's output (its contribution to the residual stream).
    public static let attentionOutput: Component = "attention_output"
    // MLP.
    /// The normalised input of the MLP.
    public static let mlpInput: Component = "mlp_input"
    /// The MLP's hidden activation (after the nonlinearity).
    public static let mlpActivation: Component = "mlp_activation"
    /// The MLP's output (its contribution to the residual stream).
    public static let mlpOutput: Component = "mlp_output"
    // Further decoder sites (TransformerLens's hooks that pyvene has no name for).
    /// Token embeddings (× the embedding scale), before positions are added: (B, S, D), layer 0.
    public static let tokenEmbedding: Component = "hook_embed"
    /// Learned position embeddings (B, S, D), layer 0.
    public static let positionEmbedding: Component = "hook_pos_embed"
    /// The residual stream between the attention and MLP sub-blocks (sequential residuals).
    public static let residualMiddle: Component = "hook_resid_mid"
    /// Attention scores after scaling, soft-capping and masking, before the softmax: (B, H, Sq, Sk).
    public static let attentionScores: Component = "attn.hook_attn_scores"
    /// Each head's contribution to the attention output, z_h W_O[h]: (B, H, S, D) (the bias is
    /// added after the sum over heads). Computed only when hooked.
    public static let headResult: Component = "head_result"
    /// The MLP's pre-activation, m W_in (the gate's for gated MLPs): (B, S, I).
    public static let mlpPreActivation: Component = "mlp.hook_pre"
    /// What the MLP's output projection reads: act(m W_in), or act(m W_gate) ⊙ m W_up for gated
    /// MLPs: (B, S, I).
    public static let mlpPostActivation: Component = "mlp.hook_post"
    /// The final norm's output (B, S, D), last layer.
    public static let finalNormOutput: Component = "ln_final.hook_normalized"
    /// TransformerLens layouts of the head sites: (B, S, H, d_head).
    public static let tlQuery: Component = "attn.hook_q"
    /// Keys (B, S, Hkv, d_head), before rotary embeddings.
    public static let tlKey: Component = "attn.hook_k"
    /// Values (B, S, Hkv, d_head).
    public static let tlValue: Component = "attn.hook_v"
    /// Attention-weighted values per head (B, S, H, d_head), before the output projection.
    public static let tlZ: Component = "attn.hook_z"
    /// What the attention sub-block adds to the residual stream (TransformerLens's
    /// `hook_attn_out`): `attention_output`, after Gemma 2's post-attention norm where there is one.
    public static let tlAttentionOut: Component = "hook_attn_out"
    /// What the MLP adds to the residual stream (`hook_mlp_out`): `mlp_output`, after Gemma 2's
    /// post-feed-forward norm where there is one.
    public static let tlMLPOut: Component = "hook_mlp_out"
    /// TransformerLens's per-head result (B, S, H, D).
    public static let tlResult: Component = "attn.hook_result"
    // Recurrent cells (one activation per time step).
    public static let cellInput: Component = "cell_input"
    public static let cellOutput: Component = "cell_output"
    public static let resetGateInput: Component = "reset_gate_input"
    public static let updateGateInput: Component = "update_gate_input"
    public static let newGateInput: Component = "new_gate_input"
    public static let resetGateOutput: Component = "reset_gate_output"
    public static let updateGateOutput: Component = "update_gate_output"
    public static let newGateOutput: Component = "new_gate_output"
    public static let x2hOutput: Component = "x2h_output"
    public static let h2hOutput: Component = "h2h_output"
    public static let resetX2hOutput: Component = "reset_x2h_output"
    public static let updateX2hOutput: Component = "update_x2h_output"
    public static let newX2hOutput: Component = "new_x2h_output"
    public static let resetH2hOutput: Component = "reset_h2h_output"
    public static let updateH2hOutput: Component = "update_h2h_output"
    public static let newH2hOutput: Component = "new_h2h_output"
}

/// A component at one layer: the address of an activation.
public struct Site: Hashable, Codable, Sendable, CustomStringConvertible {
    /// Layer index (0-based).
    public var layer: Int
    /// What is tapped inside the layer.
    public var component: Component

    public init(layer: Int, component: Component) {
        self.layer = layer
        self.component = component
    }

    public var description: String { "L\(layer).\(component.rawValue)" }

    /// TransformerLens hook names (`blocks.L.…`) that are other names of pyvene components.
    /// TransformerLens names with a layout of their own ("attn.hook_q": [batch, pos, head,
    /// d_head]) are components themselves.
    public static let transformerLensAliases: [String: Component] = [
        "hook_resid_pre": .blockInput,
        "hook_resid_post": .blockOutput,
        "ln1.hook_normalized": .attentionInput,
        "ln2.hook_normalized": .mlpInput,
        "attn.hook_pattern": .attentionWeight,
    ]

    /// Model-level TransformerLens hooks (outside `blocks.L`) and the sites they name: the
    /// embeddings belong to layer 0, the final norm to the last layer (−1).
    public static let transformerLensModelHooks: [String: Site] = [
        "hook_embed": Site(layer: 0, component: .tokenEmbedding),
        "hook_pos_embed": Site(layer: 0, component: .positionEmbedding),
        "ln_final.hook_normalized": Site(layer: -1, component: .finalNormOutput),
    ]

    /// Parses "L3.block_output", "3.block_output", "3:block_output", "L-1.block_output" (counted
    /// from the end) or
    /// a TransformerLens name such as "blocks.3.hook_resid_post", "blocks.3.attn.hook_z",
    /// "hook_embed" or "ln_final.hook_normalized". Whether the component exists is checked
    /// against a model's site table when the site is used.
    public init(parsing text: String) throws {
        if let site = Site.transformerLensModelHooks[text] {
            self = site
            return
        }
        if let colon = text.firstIndex(of: ":"), let layer = Int(text[..<colon]) {
            // pyvene's layer:component, as the command line writes it ("6:block_output").
            self.init(layer: layer, component: Component(String(text[text.index(after: colon)...])))
            return
        }
        let parts = text.split(separator: ".", maxSplits: 1).map(String.init)
        if text.hasPrefix("blocks.") {
            let rest = text.dropFirst("blocks.".count)
            guard let dot = rest.firstIndex(of: "."), let layer = Int(rest[..<dot]), layer >= 0 else {
                throw SiteError.unparsable(text: text, reason: "expected blocks.<layer>.<hook>")
            }
            let hook = String(rest[rest.index(after: dot)...])
            guard hook.contains("hook_") else {
                throw SiteError.unparsable(text: text, reason: "'\(hook)' is not a TransformerLens hook name (hook_…)")
            }
            self.init(layer: layer, component: Site.transformerLensAliases[hook] ?? Component(hook))
            return
        }
        guard parts.count == 2 else {
            throw SiteError.unparsable(text: text, reason: "expected LAYER:COMPONENT (6:block_output), L6.block_output, or a TransformerLens name (blocks.6.hook_resid_post, hook_embed)")
        }
        let layerText = parts[0].hasPrefix("L") ? String(parts[0].dropFirst()) : parts[0]
        guard let layer = Int(layerText) else {
            throw SiteError.unparsable(text: text, reason: "layer '\(parts[0])' is not an integer")
        }
        self.init(layer: layer, component: Component(parts[1]))
    }
}

/// A site name that cannot be parsed or does not exist in a model.
public enum SiteError: Error, CustomStringConvertible, Equatable {
    case unparsable(text: String, reason: String)
    case unknownComponent(Component, model: String, known: [Component])
    case layerOutOfRange(layer: Int, model: String, layers: Int)
    case wrongLayer(Component, layer: Int, model: String, only: Int)

    public var description: String {
        switch self {
        case .unparsable(let text, let reason): return "cannot parse site '\(text)': \(reason)"
        case .unknownComponent(let c, let model, let known):
            return "component '\(c.rawValue)' does not exist in \(model); allowed: \(known.map(\.rawValue).joined(separator: ", "))"
        case .layerOutOfRange(let layer, let model, let layers):
            return "layer \(layer) is out of range for \(model), which has layers 0..<\(layers) (or -\(layers)...-1 from the end)"
        case .wrongLayer(let c, let layer, let model, let only):
            return "component '\(c.rawValue)' of \(model) exists at layer \(only) only, not at layer \(layer)"
        }
    }
}
