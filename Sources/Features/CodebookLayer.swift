import Models
import Tensors

/// What one codebook application produced.
public struct CodebookSnap {
    /// The activation that continues through the model, shaped like the input: the mean of the
    /// k selected codes (in the layer's LayerNorm space), or the input itself when disabled.
    public var output: Tensor
    /// ln(x), shaped like the input (nil when the codebook is disabled).
    public var normalized: Tensor?
    /// The selected code ids, shape input.shape.dropLast() + [k], slot 0 the most similar;
    /// −1 marks a blocked slot (nil when disabled).
    public var codes: IndexTensor?
    /// The objective's auxiliary losses (`CodebookObjective`), scalars in the autodiff graph.
    public var auxiliaryLosses: [String: Tensor]
}

/// A codebook layer (Tamkin, Taufeeque and Goodman 2023): C codes of width D and its own
/// LayerNorm. For an activation x of shape (…, T, D), N = the product of the leading
/// dimensions, each row is replaced by the mean of its k most similar codes:
///
///     xn  = LayerNorm(x; γ, β, ε)                        (…, T, D)
///     s   = ⟨xn, C[c]⟩ / ‖C[c]‖₂   or  −‖xn − C[c]‖₂       (N, C)    see `CodebookSimilarity`
///     ids = topk(s, k)  (sorted, slot 0 the best)          (…, T, k) see `CodebookCallOptions`
///     out = (1/k) Σ_j C[ids_j]  (a blocked slot adds 0)    (…, T, D)
///
/// The output stays in LayerNorm space: nothing de-normalises it. Gradients follow the
/// straight-through estimator of `objective` (see `CodebookObjective`): the model's gradient G
/// on `out` passes to xn unchanged (and through the LayerNorm to x, γ, β) and, except for
/// vqvae, to the selected codes as Σ G/k; the objective's extra terms are auxiliary losses.
///
/// As a `SiteLayer` it snaps with its own `callOptions` and `patches` and keeps the result of
/// the latest call in `lastSnap` (the code ids are its side output); `snap(_:options:patches:)`
/// takes the per-call configuration explicitly.
public final class CodebookLayer: SiteLayer {
    /// A name for messages ("L1.mlp").
    public let name: String
    /// The codes C, shape (codes, width).
    public let codes: Parameter
    /// LayerNorm weight γ and bias β, shape (width).
    public let normWeight: Parameter, normBias: Parameter
    /// k, the number of codes averaged per row.
    public let k: Int
    public let similarity: CodebookSimilarity
    /// The training objective of this layer (no global state: each layer has its own).
    public var objective: CodebookObjective
    /// LayerNorm ε.
    public let epsilon: Float
    /// When false the layer returns its input unchanged (no LayerNorm, no snapping).
    public var isEnabled = true
    /// Options of every `callAsFunction` call (codebook-features' `set_hook_kwargs`).
    public var callOptions = CodebookCallOptions.plain
    /// Code patches applied, in order, on every `callAsFunction` call.
    public var patches: [CodePatch] = []
    /// The result of the latest `callAsFunction` call.
    public private(set) var lastSnap: CodebookSnap?
    /// Which codes `callAsFunction` selected since the last reset or dead-code replacement
    /// (see `replaceDeadCodes(noise:seed:)`).
    public internal(set) var usage: CodeUsage

    /// The number of codes C.
    public var codeCount: Int { codes.shape[0] }
    /// The code width D.
    public var width: Int { codes.shape[1] }

    /// A codebook of `codeCount` codes of width `width`, codes drawn from N(0, 1) with `seed`,
    /// γ = 1, β = 0. Throws when a size is not positive or k exceeds the codes.
    public init(name: String = "codebook", width: Int, codeCount: Int, k: Int = 1, similarity: CodebookSimilarity = .innerProduct,
                objective: CodebookObjective = .aeloss, epsilon: Float = 1e-5, seed: UInt64 = 0) throws {
        guard width > 0 else { throw CodebookError.invalidHyperparameter(field: "width", value: "\(width)", allowed: "a positive integer") }
        guard codeCount > 0 else { throw CodebookError.invalidHyperparameter(field: "codes", value: "\(codeCount)", allowed: "a positive integer") }
        guard k > 0 && k <= codeCount else {
            throw CodebookError.invalidHyperparameter(field: "k", value: "\(k)", allowed: "1...\(codeCount) (at most the number of codes)")
        }
        self.name = name
        self.codes = Parameter(Tensor.randomNormal([codeCount, width], seed: seed))
        self.normWeight = Parameter(Tensor.ones([width]))
        self.normBias = Parameter(Tensor.zeros([width]))
        self.k = k
        self.similarity = similarity
        self.objective = objective
        self.epsilon = epsilon
        self.usage = CodeUsage(codeCount: codeCount)
    }

    /// Parameters under the reference's state_dict names: codebook.weight, ln.weight, ln.bias.
    public func visitParameters(_ visit: (String, Parameter) -> Void) {
        visit("codebook.weight", codes)
        visit("ln.weight", normWeight)
        visit("ln.bias", normBias)
    }

    /// Snaps with `callOptions` and `patches`, records the result in `lastSnap`.
    public func callAsFunction(_ activation: Tensor) throws -> Tensor {
        let result = try snap(activation, options: callOptions, patches: patches)
        lastSnap = result
        usage.record(result)
        return result.output
    }

    /// Forgets `lastSnap`.
    public func clearLastSnap() { lastSnap = nil }

    func setLastSnap(_ snap: CodebookSnap) { lastSnap = snap }

    /// One application with explicit per-call options and code patches (applied in order
    /// after the selection). x has shape (…, T, D) with rank ≥ 2; throws `CodebookError` for
    /// another width or an option out of range.
    public func snap(_ x: Tensor, options: CodebookCallOptions = .plain, patches: [CodePatch] = []) throws -> CodebookSnap {
        guard isEnabled else { return CodebookSnap(output: x, normalized: nil, codes: nil, auxiliaryLosses: [:]) }
        guard x.rank >= 2, x.shape[x.rank - 1] == width else {
            throw CodebookError.widthMismatch(codebook: name, site: "its input \(x.shape)", expected: width, actual: x.shape.last ?? 0)
        }
        let length = x.shape[x.rank - 2], rows = x.count / width
        let xn = x.layerNorm(weight: normWeight.value, bias: normBias.value, epsilon: epsilon)
        let flat = xn.reshaped([rows, width])
        let scores = CodeSelection.scores(flat, codes: codes.value, similarity: similarity, cosine: options.cosine)
        var ids = try CodeSelection.select(scores: scores, rows: rows, codes: codeCount, k: k, length: length, options: options, codebook: name)
        for patch in patches {
            try CodeSelection.apply(patch, to: &ids, rows: rows, k: k, length: length, codes: codeCount, codebook: name)
        }
        let snapped = meanOfCodes(ids, rows: rows)
        let output = straightThrough(codesMean: snapped, normalized: flat).reshaped(x.shape)
        let idShape = Array(x.shape.dropLast()) + [k]
        return CodebookSnap(output: output, normalized: xn, codes: IndexTensor(shape: idShape, values: ids),
                            auxiliaryLosses: auxiliaryLosses(codesMean: snapped, normalized: flat))
    }

    /// (1/k) Σ_j C[ids_j] per row, (N, D), differentiable in C; −1 slots contribute 0.
    func meanOfCodes(_ ids: [Int], rows: Int, table: Tensor? = nil) -> Tensor {
        let safe = IndexTensor(shape: [rows, k], values: ids.map { Swift.max($0, 0) })
        let gathered = Tensor.embedding(table ?? codes.value, ids: safe)
        let weights = Tensor(shape: [rows, k, 1], values: ids.map { $0 < 0 ? 0 : 1 / Float(k) })
        return (gathered * weights).sum(axis: 1)
    }

    /// out + (xn − sg(xn)): the value of `codesMean`, the gradient G straight to xn; for vqvae
    /// the codes are cut off from G.
    func straightThrough(codesMean: Tensor, normalized xn: Tensor) -> Tensor {
        let codePath = objective.passesGradientToCodes ? codesMean : codesMean.detached()
        guard xn.requiresGrad else { return codePath }
        return codePath + (xn - xn.detached())
    }

    /// codebook_mse = mean_t ‖out_t(C) − sg(xn_t)‖²; commitment = β Σ_t ‖xn_t − sg(out_t)‖².
    func auxiliaryLosses(codesMean: Tensor, normalized xn: Tensor) -> [String: Tensor] {
        var losses: [String: Tensor] = [:]
        let rows = Float(xn.shape[0])
        if objective.hasCodebookMSE {
            losses[CodebookObjective.codebookMSELossName] = (codesMean - xn.detached()).square().sum() / rows
        }
        if let beta = objective.commitmentBeta {
            losses[CodebookObjective.commitmentLossName] = (xn - codesMean.detached()).square().sum() * beta
        }
        return losses
    }
}
