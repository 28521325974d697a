import Models

/// Where a codebook model puts its codebooks in each snapped layer — codebook-features'
/// `codebook_at` names, mapped onto this library's sites:
///
/// | `codebook_at` | site | width |
/// |---|---|---|
/// | `transformer_block` | `block_output` (hook_resid_post) | D |
/// | `mlp` | `mlp_output` (before the residual add; hook_mlp_out where no post-norm follows) | D |
/// | `mlp_mid` | `mlp_activation` (the MLP's hidden activation, act(·)) | I |
/// | `attn` | `attention_output` (hook_attn_out where no post-norm follows) | D |
/// | `attn_preproj` | `attention_value_output` (the merged heads before the output projection; with groups = heads, one codebook per head, the same as `attn.hook_z`) | H·d |
/// | `qkv` | `query_output`, `key_output`, `value_output` (before rotary), one group codebook each | H·d, K·d, K·d |
///
/// `qkv` is one group codebook of 3G groups over the fused projection in the reference; here it
/// is three group codebooks of G groups. `CodebookPlacement.qkvGroup(_:groups:layout:)` maps the
/// reference's group index onto (projection, group) for the fused layouts.
public enum CodebookPlacement: String, Codable, Sendable, CaseIterable {
    case transformerBlock = "transformer_block"
    case mlp
    case mlpMid = "mlp_mid"
    case attention = "attn"
    case attentionPreprojection = "attn_preproj"
    case qkv

    /// Parses a `codebook_at` name; throws naming the allowed names.
    public init(parsing text: String) throws {
        guard let value = CodebookPlacement(rawValue: text) else {
            throw CodebookError.invalidHyperparameter(field: "codebook_at", value: "'\(text)'",
                                                      allowed: CodebookPlacement.allCases.map(\.rawValue).joined(separator: ", "))
        }
        self = value
    }

    /// The components this placement uses (three for `qkv`).
    public var components: [Component] {
        switch self {
        case .transformerBlock: return [.blockOutput]
        case .mlp: return [.mlpOutput]
        case .mlpMid: return [.mlpActivation]
        case .attention: return [.attentionOutput]
        case .attentionPreprojection: return [.attentionValueOutput]
        case .qkv: return [.queryOutput, .keyOutput, .valueOutput]
        }
    }

    /// Names of the parts of a `qkv` placement.
    public static let qkvParts = ["q", "k", "v"]

    /// For `qkv`: the reference's sub-codebook `index` (0 ..< 3G over the fused output, cut in
    /// 3G equal chunks) as (projection 0/1/2 = q/k/v, group within that projection). `fused`
    /// ([q | k | v], GPT-2): index = j·G + g. `fusedPerHead` ([q_h | k_h | v_h] per head,
    /// GPT-NeoX) with G = m·H: index = h·3m + j·m + s, group h·m + s. Nil when the chunks do not
    /// fall on projection boundaries.
    public static func qkvGroup(_ index: Int, groups: Int, heads: Int, layout: ProjectionLayout) -> (part: Int, group: Int)? {
        guard index >= 0 && index < 3 * groups else { return nil }
        switch layout {
        case .fusedPerHead:
            guard groups % heads == 0 else { return nil }
            let m = groups / heads
            return ((index / m) % 3, (index / (3 * m)) * m + index % m)
        default:
            return (index / groups, index % groups)
        }
    }
}

/// One kind of codebook in a codebook model (one entry of codebook-features'
/// `CodebookModelConfig` lists).
public struct CodebookSpec: Codable, Sendable, Equatable {
    public var placement: CodebookPlacement
    /// Snapped layers; negative values count from the end; nil: every layer.
    public var layers: [Int]?
    /// Codes per (sub-)codebook, C.
    public var codeCount: Int
    /// Codes averaged per row, k.
    public var k: Int
    /// Groups (1: a plain `CodebookLayer`; −1: one per attention head).
    public var groups: Int
    public var similarity: CodebookSimilarity
    public var objective: CodebookObjective

    public init(placement: CodebookPlacement, layers: [Int]? = nil, codeCount: Int, k: Int = 1, groups: Int = 1,
                similarity: CodebookSimilarity = .innerProduct, objective: CodebookObjective = .aeloss) {
        self.placement = placement
        self.layers = layers
        self.codeCount = codeCount
        self.k = k
        self.groups = groups
        self.similarity = similarity
        self.objective = objective
    }
}
