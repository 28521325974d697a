import Models
import Tensors

/// pyvene's `AutoencoderIntervention`: a ReLU sparse autoencoder whose chosen latents take the
/// source's values; the decoded reconstruction **replaces** the activation (pyvene keeps no
/// error term). Per unit x (…, d), with torch Linear layouts W_enc (L, d), W_dec (d, L):
///
///     z(x) = ReLU(W_enc (x − b_dec) + b_enc)                     (…, L)
///     z′ = z(base) with z′[i] = z(source)[i] for i in latentIndices
///     out = W_dec z′ + b_dec                                      (…, d)
///
/// Side output "latents": z′. Parameters under pyvene's names (`autoencoder.encoder.0.weight`, …).
public final class AutoencoderIntervention: Intervention {
    public let typeName = "AutoencoderIntervention"
    public let form = BlockForm.units
    public let sourceRequirement = SourceRequirement.source
    public let encoderWeight, encoderBias, decoderWeight, decoderBias: Parameter
    /// The latents that take the source's values.
    public let latentIndices: [Int]
    let width: Int, latents: Int

    /// An autoencoder of `latents` latents over units of width `width` (random init from `seed`).
    public init(width: Int, latents: Int, latentIndices: [Int], seed: UInt64) throws {
        guard latents >= 1 else {
            throw InterventionError.invalidHyperparameter(type: "AutoencoderIntervention", field: "latent_dim", value: "\(latents)", allowed: "an integer ≥ 1")
        }
        if let bad = latentIndices.first(where: { $0 < 0 || $0 >= latents }) {
            throw InterventionError.invalidHyperparameter(type: "AutoencoderIntervention", field: "latent_indices", value: "\(bad)",
                                                          allowed: "latent indices in 0..<\(latents)")
        }
        self.width = width
        self.latents = latents
        self.latentIndices = latentIndices
        var g = RandomGenerator(seed: seed)
        let scale = 1 / Float(width).squareRoot()
        encoderWeight = Parameter(Tensor.randomNormal([latents, width], std: scale, using: &g))
        encoderBias = Parameter(Tensor.zeros([latents]))
        decoderWeight = Parameter(Tensor.randomNormal([width, latents], std: scale, using: &g))
        decoderBias = Parameter(Tensor.zeros([width]))
    }

    public var embedDimension: Int? { width }

    public var namedParameters: [(name: String, parameter: Parameter)] {
        [("autoencoder.encoder.0.weight", encoderWeight), ("autoencoder.encoder.0.bias", encoderBias),
         ("autoencoder.decoder.0.weight", decoderWeight), ("autoencoder.decoder.0.bias", decoderBias)]
    }

    public var hyperparameters: JSONObject {
        JSONObject([("latent_dim", .int(latents)), ("latent_indices", .array(latentIndices.map { .int($0) }))])
    }

    /// z(x) = ReLU(W_enc (x − b_dec) + b_enc).
    public func encode(_ x: Tensor) -> Tensor {
        (x - decoderBias.value).linear(weight: encoderWeight.value, bias: encoderBias.value).relu()
    }

    public func apply(base: Tensor, source: Tensor?, subspaces: [[Int]]?) throws -> InterventionResult {
        try apply(base: base, source: source, subspaces: subspaces, tap: .none)
    }

    /// Taps "latents" (z′) before decoding.
    public func apply(base: Tensor, source: Tensor?, subspaces: [[Int]]?, tap: SideOutputTap) throws -> InterventionResult {
        guard let source else { throw InterventionError.missingSource(intervention: typeName) }
        let zb = encode(base), zs = encode(source)
        let z = SubspaceMask.blend(zb, zs, mask: try LatentMask.of(latentIndices, latents: latents, like: zb))
        return InterventionResult(tap("latents", z).linear(weight: decoderWeight.value, bias: decoderBias.value), sideOutputs: ["latents": z])
    }

    public func stateTensors() -> [String: Tensor] { parameterState() }

    public func loadState(_ tensors: [String: Tensor]) throws { try loadParameterState(tensors) }
}

/// pyvene's `JumpReLUAutoencoderIntervention` (Gemma Scope's JumpReLU SAE): latents 0..<k take
/// the source's values; the reconstruction replaces the activation. W_enc (d, L), W_dec (L, d):
///
///     pre = x W_enc + b_enc;  a = 1[pre > θ] ⊙ ReLU(pre)          (…, L)
///     a′ = a(base) with a′[0..<k] = a(source)[0..<k]
///     out = a′ W_dec + b_dec                                       (…, d)
///
/// The threshold θ gets no gradient (the step is flat almost everywhere). Side output "latents": a′.
public final class JumpReLUAutoencoderIntervention: Intervention {
    public let typeName = "JumpReLUAutoencoderIntervention"
    public let form = BlockForm.units
    public let sourceRequirement = SourceRequirement.source
    public let encoderWeight, decoderWeight, encoderBias, decoderBias, threshold: Parameter
    /// Latents 0..<interchangeDimension take the source's values.
    public let interchangeDimension: Int
    let width: Int, latents: Int

    /// A JumpReLU autoencoder of `latents` latents over units of width `width`.
    public init(width: Int, latents: Int, interchangeDimension: Int?, seed: UInt64) throws {
        guard latents >= 1 else {
            throw InterventionError.invalidHyperparameter(type: "JumpReLUAutoencoderIntervention", field: "low_rank_dimension", value: "\(latents)",
                                                          allowed: "an integer ≥ 1 (the number of latents)")
        }
        let k = interchangeDimension ?? latents
        guard (0...latents).contains(k) else {
            throw InterventionError.invalidHyperparameter(type: "JumpReLUAutoencoderIntervention", field: "interchange_dim", value: "\(k)",
                                                          allowed: "0...\(latents)")
        }
        self.width = width
        self.latents = latents
        self.interchangeDimension = k
        var g = RandomGenerator(seed: seed)
        let scale = 1 / Float(width).squareRoot()
        encoderWeight = Parameter(Tensor.randomNormal([width, latents], std: scale, using: &g))
        decoderWeight = Parameter(Tensor.randomNormal([latents, width], std: scale, using: &g))
        encoderBias = Parameter(Tensor.zeros([latents]))
        decoderBias = Parameter(Tensor.zeros([width]))
        threshold = Parameter(Tensor.zeros([latents]), trainable: false)
    }

    public var embedDimension: Int? { width }

    public var namedParameters: [(name: String, parameter: Parameter)] {
        [("W_enc", encoderWeight), ("W_dec", decoderWeight), ("b_enc", encoderBias), ("b_dec", decoderBias), ("threshold", threshold)]
    }

    public var hyperparameters: JSONObject {
        JSONObject([("low_rank_dimension", .int(latents)), ("interchange_dim", .int(interchangeDimension))])
    }

    /// a = 1[x W_enc + b_enc > θ] ⊙ ReLU(x W_enc + b_enc).
    public func encode(_ x: Tensor) -> Tensor {
        let pre = x.linear(weight: encoderWeight.value, bias: encoderBias.value, layout: .inputMajor)
        let open = Tensor.withoutGradients { (pre - threshold.value).map { $0 > 0 ? 1 : 0 } }
        return pre.relu() * open
    }

    public func apply(base: Tensor, source: Tensor?, subspaces: [[Int]]?) throws -> InterventionResult {
        try apply(base: base, source: source, subspaces: subspaces, tap: .none)
    }

    /// Taps "latents" (a′) before decoding.
    public func apply(base: Tensor, source: Tensor?, subspaces: [[Int]]?, tap: SideOutputTap) throws -> InterventionResult {
        guard let source else { throw InterventionError.missingSource(intervention: typeName) }
        let ab = encode(base), as_ = encode(source)
        let a = SubspaceMask.blend(ab, as_, mask: try LatentMask.of(Array(0..<interchangeDimension), latents: latents, like: ab))
        return InterventionResult(tap("latents", a).linear(weight: decoderWeight.value, bias: decoderBias.value, layout: .inputMajor),
                                  sideOutputs: ["latents": a])
    }

    public func stateTensors() -> [String: Tensor] { parameterState() }

    public func loadState(_ tensors: [String: Tensor]) throws { try loadParameterState(tensors) }
}

/// A (1, …, 1, L) mask of ones on the chosen latents, shaped to broadcast over `like`.
enum LatentMask {
    static func of(_ indices: [Int], latents: Int, like block: Tensor) throws -> Tensor {
        var values = [Float](repeating: 0, count: latents)
        for i in indices { values[i] = 1 }
        return Tensor(shape: Array(repeating: 1, count: block.rank - 1) + [latents], values: values)
    }
}

extension InterventionRegistry {
    /// pyvene's two autoencoder interventions.
    func registerAutoencoders() {
        register(.autoencoder, aliases: ["autoencoder", "sae"], hyperparameters: ["latent_dim", "latent_indices"]) { c in
            let latents = try intHyperparameter(c.hyperparameters, "latent_dim", type: "AutoencoderIntervention") ?? c.representation.lowRankDimension
            guard let latents else {
                throw InterventionError.invalidHyperparameter(type: "AutoencoderIntervention", field: "latent_dim", value: "missing", allowed: "an integer ≥ 1")
            }
            let raw = c.hyperparameters["latent_indices"]
            let indices = raw?.arrayValue?.compactMap(\.intValue) ?? []
            guard raw == nil || raw!.isNull || indices.count == raw?.arrayValue?.count else {
                throw InterventionError.invalidHyperparameter(type: "AutoencoderIntervention", field: "latent_indices", value: raw!.serialized(),
                                                              allowed: "a list of latent indices")
            }
            return try AutoencoderIntervention(width: c.embedDimension / c.representation.maxNumberOfUnits, latents: latents,
                                               latentIndices: indices, seed: c.seed)
        }
        register(.jumpReLUAutoencoder, aliases: ["jumprelu_autoencoder"], hyperparameters: ["interchange_dim"]) { c in
            guard let latents = c.representation.lowRankDimension else {
                throw InterventionError.invalidHyperparameter(type: "JumpReLUAutoencoderIntervention", field: "low_rank_dimension", value: "missing",
                                                              allowed: "the number of latents")
            }
            return try JumpReLUAutoencoderIntervention(width: c.embedDimension / c.representation.maxNumberOfUnits, latents: latents,
                                                       interchangeDimension: try intHyperparameter(c.hyperparameters, "interchange_dim", type: "JumpReLUAutoencoderIntervention"),
                                                       seed: c.seed)
        }
    }
}
