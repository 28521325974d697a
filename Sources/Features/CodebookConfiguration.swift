/// How a codebook scores code c against a normalised activation xn (one row of width D).
public enum CodebookSimilarity: String, Codable, Sendable, CaseIterable {
    /// s[c] = ⟨xn, C[c]⟩ / ‖C[c]‖₂ — divided by the code norms (and by ‖xn‖₂ when the call
    /// asks for `cosine`, which never changes the ranking).
    case innerProduct = "inner_product"
    /// s[c] = −‖xn − C[c]‖₂.
    case euclidean

    /// Parses "inner_product" or "euclidean"; throws naming the allowed values.
    public init(parsing text: String) throws {
        guard let value = CodebookSimilarity(rawValue: text) else {
            throw CodebookError.invalidHyperparameter(field: "similarity_metric", value: "'\(text)'", allowed: "inner_product, euclidean")
        }
        self = value
    }
}

/// The training objective of one codebook: which gradients the straight-through snap passes,
/// and which auxiliary losses it adds. With xn = ln(x), out = the mean of the k selected codes,
/// N token vectors and `sg` stop-gradient:
///
/// | objective | ∂/∂xn from the model | ∂/∂C from the model | auxiliary losses |
/// |---|---|---|---|
/// | `base` | G (straight through) | dUP = Σ G_t / k over the slots using c | — |
/// | `aeloss` | G | dUP | `codebook_mse` = mean_t ‖out_t(C) − sg(xn_t)‖² |
/// | `fullaeloss(β)` | G | dUP | `codebook_mse`, `commitment` = β Σ_t ‖xn_t − sg(out_t)‖² |
/// | `vqvae(β)` | G | none | `codebook_mse`, `commitment` |
///
/// Weighted 1 (the trainer's default), the sum reproduces codebook-features' custom backward
/// exactly: ∂commitment/∂xn = 2β(xn − out) per token (no 1/N), ∂codebook_mse/∂C = dMSE.
public enum CodebookObjective: Equatable, Codable, Sendable, CustomStringConvertible {
    case base
    case aeloss
    case fullaeloss(beta: Float)
    case vqvae(beta: Float)

    /// The β used when a name has no suffix ("vqvae" = "vqvae-0.25").
    public static let defaultBeta: Float = 0.25

    /// Parses the reference's names: "base", "aeloss", "fullaeloss[-β]", "vqvae[-β]".
    public init(parsing text: String) throws {
        let parts = text.split(separator: "-", maxSplits: 1).map(String.init)
        let bad = CodebookError.invalidHyperparameter(field: "loss", value: "'\(text)'",
                                                      allowed: "base, aeloss, fullaeloss[-β], vqvae[-β] with β a finite number ≥ 0")
        var beta = CodebookObjective.defaultBeta
        if parts.count == 2 {
            guard let b = Float(parts[1]), b.isFinite, b >= 0 else { throw bad }
            beta = b
        }
        switch parts.first ?? "" {
        case "base" where parts.count == 1: self = .base
        case "aeloss" where parts.count == 1: self = .aeloss
        case "fullaeloss": self = .fullaeloss(beta: beta)
        case "vqvae": self = .vqvae(beta: beta)
        default: throw bad
        }
    }

    public var description: String {
        switch self {
        case .base: return "base"
        case .aeloss: return "aeloss"
        case .fullaeloss(let b): return "fullaeloss-\(b)"
        case .vqvae(let b): return "vqvae-\(b)"
        }
    }

    /// Whether the model's gradient reaches the codes (straight-through dUP).
    var passesGradientToCodes: Bool { if case .vqvae = self { return false } else { return true } }
    /// Whether the codebook MSE term is added.
    var hasCodebookMSE: Bool { self != .base }
    /// β of the commitment term, if any.
    var commitmentBeta: Float? {
        switch self {
        case .fullaeloss(let b), .vqvae(let b): return b
        default: return nil
        }
    }

    /// Auxiliary loss names.
    public static let codebookMSELossName = "codebook_mse"
    public static let commitmentLossName = "commitment"
}

/// Which positions (along T, the second-to-last axis) a per-call option applies to.
public enum CodebookTokens: Equatable, Codable, Sendable {
    /// Every position.
    case all
    /// These positions; negative values count from the end (−1 = the last).
    case positions([Int])
}

/// Per-call behaviour of a codebook (codebook-features' `hook_kwargs`), typed. The default
/// value is the plain snap.
///
/// With `keepK` (the default): at `tokens`, codes in `disabledCodes` score −∞; the layer takes
/// topk(k + disableTopK) and those tokens use slots `disableTopK ..< disableTopK + k` (the
/// next-best codes fill in), every other position slots `0 ..< k`; `disabledSlots` is ignored.
/// Without `keepK`: plain topk(k); at `tokens`, a slot is blocked (id −1, zero vector) when its
/// code is in `disabledCodes` or its slot index is below `disableTopK`; then every slot in
/// `disabledSlots` is blocked at every position, whatever `tokens` says.
public struct CodebookCallOptions: Equatable, Codable, Sendable {
    /// The best codes skipped at `tokens` (`disable_topk`).
    public var disableTopK: Int
    /// Codes never selected at `tokens` (`disable_codes`).
    public var disabledCodes: [Int]
    /// Where `disableTopK` and `disabledCodes` act (`disable_for_tkns`).
    public var tokens: CodebookTokens
    /// Refill blocked slots with the next-best codes (`keep_k_codes`).
    public var keepK: Bool
    /// Slots blocked at every position when `keepK` is false (`disable_sim_idx`).
    public var disabledSlots: [Int]
    /// Divide the scores by ‖xn‖₂ as well (`cosine`; the ranking is unchanged).
    public var cosine: Bool

    public init(disableTopK: Int = 0, disabledCodes: [Int] = [], tokens: CodebookTokens = .all, keepK: Bool = true,
                disabledSlots: [Int] = [], cosine: Bool = false) {
        self.disableTopK = disableTopK
        self.disabledCodes = disabledCodes
        self.tokens = tokens
        self.keepK = keepK
        self.disabledSlots = disabledSlots
        self.cosine = cosine
    }

    /// The plain snap.
    public static let plain = CodebookCallOptions()
}

/// A code intervention on the selected ids (codebook-features' `patch_in_codes`):
/// `ids[b, p, slot] = code` for every batch row b, every p in `positions` and every slot in
/// `slot`. The output is then the mean of the k (patched) codes; code −1 blocks the slot.
public struct CodePatch: Equatable, Codable, Sendable {
    /// Positions along T (nil: all); negative values count from the end.
    public var positions: [Int]?
    /// The slot to overwrite (nil: all k; −1 = the last slot, the k-th best code).
    public var slot: Int?
    /// The code written, or −1 to block.
    public var code: Int

    public init(positions: [Int]? = nil, slot: Int? = -1, code: Int) {
        self.positions = positions
        self.slot = slot
        self.code = code
    }
}
