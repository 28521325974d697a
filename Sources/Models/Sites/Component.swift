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

    /// TransformerLens hook names (`blocks.L.…`) and their pyvene components.
    public static let transformerLensAliases: [String: Component] = [
        "hook_resid_pre": .blockInput,
        "hook_resid_post": .blockOutput,
        "hook_attn_out": .attentionOutput,
        "hook_mlp_out": .mlpOutput,
        "ln1.hook_normalized": .attentionInput,
        "ln2.hook_normalized": .mlpInput,
        "attn.hook_q": .headQueryOutput,
        "attn.hook_k": .headKeyOutput,
        "attn.hook_v": .headValueOutput,
        "attn.hook_z": .headAttentionValueOutput,
        "attn.hook_pattern": .attentionWeight,
        "mlp.hook_post": .mlpActivation,
    ]

    /// Parses "L3.block_output", "3.block_output" or a TransformerLens name such as
    /// "blocks.3.hook_resid_post" / "blocks.3.attn.hook_z".
    public init(parsing text: String) throws {
        let parts = text.split(separator: ".", maxSplits: 1).map(String.init)
        if text.hasPrefix("blocks.") {
            let rest = text.dropFirst("blocks.".count)
            guard let dot = rest.firstIndex(of: "."), let layer = Int(rest[..<dot]), layer >= 0 else {
                throw SiteError.unparsable(text: text, reason: "expected blocks.<layer>.<hook>")
            }
            let hook = String(rest[rest.index(after: dot)...])
            guard let component = Site.transformerLensAliases[hook] else {
                throw SiteError.unparsable(text: text, reason: "unknown TransformerLens hook '\(hook)'; known: \(Site.transformerLensAliases.keys.sorted().joined(separator: ", "))")
            }
            self.init(layer: layer, component: component)
            return
        }
        guard parts.count == 2 else { throw SiteError.unparsable(text: text, reason: "expected L<layer>.<component>") }
        let layerText = parts[0].hasPrefix("L") ? String(parts[0].dropFirst()) : parts[0]
        guard let layer = Int(layerText), layer >= 0 else {
            throw SiteError.unparsable(text: text, reason: "layer '\(parts[0])' is not a non-negative integer")
        }
        self.init(layer: layer, component: Component(parts[1]))
    }
}

/// A site name that cannot be parsed or does not exist in a model.
public enum SiteError: Error, CustomStringConvertible, Equatable {
    case unparsable(text: String, reason: String)
    case unknownComponent(Component, model: String, known: [Component])
    case layerOutOfRange(layer: Int, model: String, layers: Int)

    public var description: String {
        switch self {
        case .unparsable(let text, let reason): return "cannot parse site '\(text)': \(reason)"
        case .unknownComponent(let c, let model, let known):
            return "component '\(c.rawValue)' does not exist in \(model); allowed: \(known.map(\.rawValue).joined(separator: ", "))"
        case .layerOutOfRange(let layer, let model, let layers):
            return "layer \(layer) is out of range for \(model), which has layers 0..<\(layers)"
        }
    }
}
