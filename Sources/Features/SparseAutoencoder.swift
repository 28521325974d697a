import Models
import Tensors

/// How a sparse autoencoder turns pre-activations into latents.
public enum SAEActivation: Sendable, Equatable {
    /// ReLU(pre) (Anthropic, SAELens' standard SAEs).
    case relu
    /// The k largest pre-activations of each token kept (after ReLU), the rest zero (OpenAI).
    case topK(Int)
    /// The k·B largest pre-activations of a batch of B tokens kept (BatchTopK).
    case batchTopK(Int)
    /// pre where pre > θ (per latent), else 0 (Gemma Scope's JumpReLU).
    case jumpReLU
}

/// A sparse autoencoder over activations of width d with L latents, in SAELens' layout:
///
///     x̂ = normalise(x)                      (identity, or OpenAI's per-token layer norm, see `normalise`)
///     pre = (x̂ − b_dec) W_enc + b_enc       W_enc (d, L); b_dec subtracted unless told not to
///     z = act(pre)                           (…, L)
///     decode(z) = z W_dec + b_dec            W_dec (L, d), then the normalisation undone
///
/// `threshold` (L) is JumpReLU's θ.
public final class SparseAutoencoder: Module {
    public let width: Int, latents: Int
    public let activation: SAEActivation
    /// OpenAI's TopK SAEs normalise each token (x − mean) / std before encoding and undo it on decode.
    public let normalizesInput: Bool
    /// SAELens' `apply_b_dec_to_input` (true for standard SAEs; Gemma Scope's JumpReLU SAEs: false).
    public let subtractsDecoderBias: Bool
    public let encoderWeight, decoderWeight, encoderBias, decoderBias, threshold: Parameter

    /// An SAE with random weights from `seed` (load trained ones with `loadState`).
    public init(width: Int, latents: Int, activation: SAEActivation, normalizesInput: Bool = false,
                subtractsDecoderBias: Bool = true, seed: UInt64 = 0) throws {
        guard width >= 1, latents >= 1 else {
            throw SAEError.invalid(field: "width/latents", value: "\(width)/\(latents)", allowed: "integers ≥ 1")
        }
        switch activation {
        case .topK(let k), .batchTopK(let k):
            guard (1...latents).contains(k) else { throw SAEError.invalid(field: "k", value: "\(k)", allowed: "1...\(latents) (the latents)") }
        case .relu, .jumpReLU: break
        }
        self.width = width
        self.latents = latents
        self.activation = activation
        self.normalizesInput = normalizesInput
        self.subtractsDecoderBias = subtractsDecoderBias
        var g = RandomGenerator(seed: seed)
        let std = 1 / Float(width).squareRoot()
        encoderWeight = Parameter(Tensor.randomNormal([width, latents], std: std, using: &g))
        decoderWeight = Parameter(encoderWeight.value.transposed().contiguous().copy())
        encoderBias = Parameter(Tensor.zeros([latents]))
        decoderBias = Parameter(Tensor.zeros([width]))
        threshold = Parameter(Tensor.zeros([latents]), trainable: false)
    }

    /// SAELens' tensor names.
    public func visitParameters(_ visit: (String, Parameter) -> Void) {
        visit("W_enc", encoderWeight)
        visit("W_dec", decoderWeight)
        visit("b_enc", encoderBias)
        visit("b_dec", decoderBias)
        visit("threshold", threshold)
    }

    /// The per-token normalisation of x (…, d), as OpenAI's and SAELens' `layer_norm`:
    /// μ = mean(x), σ = √(Σ(x − μ)² / (d − 1)) (Bessel's correction), x̂ = (x − μ) / (σ + 10⁻⁵);
    /// decoding multiplies by σ (no ε) and adds μ. Returns (x̂, μ, σ), or (x, nil, nil) without it.
    func normalise(_ x: Tensor) -> (Tensor, Tensor?, Tensor?) {
        guard normalizesInput else { return (x, nil, nil) }
        let mean = x.mean(axis: -1, keepDims: true)
        let centred = x - mean
        let std = (centred.square().sum(axis: -1, keepDims: true) / Float(Swift.max(width - 1, 1))).sqrt()
        return (centred / (std + 1e-5), mean, std)
    }

    /// Latents z (…, L) of activations x (…, d), and the normalisation to undo on decode.
    public func encode(_ x: Tensor) -> (latents: Tensor, mean: Tensor?, std: Tensor?) {
        let (xn, mean, std) = normalise(x)
        let input = subtractsDecoderBias ? xn - decoderBias.value : xn
        let pre = input.linear(weight: encoderWeight.value, bias: encoderBias.value, layout: .inputMajor)
        return (activate(pre), mean, std)
    }

    /// act(pre) for the configured activation.
    func activate(_ pre: Tensor) -> Tensor {
        switch activation {
        case .relu:
            return pre.relu()
        case .jumpReLU:
            let open = Tensor.withoutGradients { (pre - threshold.value).map { $0 > 0 ? 1 : 0 } }
            return pre * open
        case .topK(let k):
            return pre.topKReLU(k)
        case .batchTopK(let k):
            return pre.reshaped([1, pre.count]).topKReLU(k * (pre.count / latents)).reshaped(pre.shape)
        }
    }

    /// Activations (…, d) from latents, the normalisation undone.
    public func decode(_ z: Tensor, mean: Tensor? = nil, std: Tensor? = nil) -> Tensor {
        let out = z.linear(weight: decoderWeight.value, bias: decoderBias.value, layout: .inputMajor)
        guard let mean, let std else { return out }
        return out * std + mean
    }

    /// Loads SAELens-named tensors, checking shapes (threshold optional).
    public func loadState(_ tensors: [String: Tensor]) throws {
        for (name, p) in namedParameters where name != "threshold" || tensors["threshold"] != nil {
            guard let t = tensors[name] else { throw SAEError.invalid(field: name, value: "missing", allowed: "a tensor of shape \(p.shape)") }
            guard t.shape == p.shape else { throw SAEError.invalid(field: name, value: "shape \(t.shape)", allowed: "shape \(p.shape)") }
            p.assign(t)
        }
    }
}

/// A sparse-autoencoder setting or input that does not fit; names the field, value and what is allowed.
public enum SAEError: Error, CustomStringConvertible, Equatable {
    case invalid(field: String, value: String, allowed: String)

    public var description: String {
        switch self {
        case .invalid(let field, let value, let allowed): return "sparse autoencoder: '\(field)' has value \(value); allowed: \(allowed)"
        }
    }
}
