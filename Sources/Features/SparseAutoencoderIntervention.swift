import Intervene
import Models
import Tensors

/// One edit of sparse-autoencoder latents.
public enum LatentEdit: Sendable, Equatable {
    /// z_i ← value.
    case set(latent: Int, value: Float)
    /// z_i ← factor · z_i.
    case scale(latent: Int, factor: Float)
    /// z_i ← 0.
    case ablate(latent: Int)
    /// z_i ← min(max(z_i, low), high).
    case clamp(latent: Int, low: Float, high: Float)
    /// z_i ← z_i(source) for each listed latent.
    case interchange(latents: [Int])

    var latents: [Int] {
        switch self {
        case .set(let i, _), .scale(let i, _), .ablate(let i), .clamp(let i, _, _): return [i]
        case .interchange(let list): return list
        }
    }
}

/// Intervene's sparse-autoencoder intervention: edit chosen latents of the activation at the
/// chosen positions and decode, **adding back the reconstruction error** by default, so that
/// with no edit the activation — and the model's output — is unchanged:
///
///     z = encode(x)            (…, L)      z′ = edit(z)  (set, scale, ablate, clamp, interchange)
///     out = decode(z′) + (x − decode(z))   (…, d)        (without the error term: decode(z′))
///
/// Side outputs: "latents" (z′) and "latents_base" (z) — collect a layer's latents by running
/// with no edit. Interchange reads the source's latents; every other edit needs no source.
public final class SparseAutoencoderIntervention: Intervention {
    public let typeName = "SparseAutoencoderIntervention"
    public let form = BlockForm.units
    public let sae: SparseAutoencoder
    public let edits: [LatentEdit]
    /// Add x − decode(z) back (the default).
    public let keepsReconstructionError: Bool

    /// Throws `SAEError` naming a latent index outside 0..<L.
    public init(sae: SparseAutoencoder, edits: [LatentEdit] = [], keepsReconstructionError: Bool = true) throws {
        for edit in edits {
            if let bad = edit.latents.first(where: { $0 < 0 || $0 >= sae.latents }) {
                throw SAEError.invalid(field: "latent", value: "\(bad)", allowed: "0..<\(sae.latents) (the SAE's latents)")
            }
            if case .clamp(_, let low, let high) = edit, !(low <= high) {
                throw SAEError.invalid(field: "clamp", value: "\(low)...\(high)", allowed: "low ≤ high")
            }
        }
        self.sae = sae
        self.edits = edits
        self.keepsReconstructionError = keepsReconstructionError
    }

    public var embedDimension: Int? { sae.width }
    public var sourceRequirement: SourceRequirement {
        edits.contains { if case .interchange = $0 { return true }; return false } ? .source : .none
    }
    public var namedParameters: [(name: String, parameter: Parameter)] { sae.namedParameters.map { ($0.key, $0.parameter) } }

    public func apply(base: Tensor, source: Tensor?, subspaces: [[Int]]?) throws -> InterventionResult {
        try apply(base: base, source: source, subspaces: subspaces, tap: .none)
    }

    /// Taps "latents" (z′) before decoding, so attribution reads ∂objective/∂z′; with an active
    /// tap the output is computed through the decoder even when nothing is edited (its value is
    /// still x: decode(z′) − decode(z) is exactly 0 there).
    public func apply(base: Tensor, source: Tensor?, subspaces: [[Int]]?, tap: SideOutputTap) throws -> InterventionResult {
        let (z, mean, std) = sae.encode(base)
        var edited = z
        for edit in edits { edited = try apply(edit, to: edited, source: source) }
        let sides = ["latents": edited, "latents_base": z]
        if edits.isEmpty && keepsReconstructionError && !tap.isActive { return InterventionResult(base, sideOutputs: sides) }
        let decoded = sae.decode(tap("latents", edited), mean: mean, std: std)
        // decode(z′) + (x − decode(z)), computed as x + (decode(z′) − decode(z)): an edit that
        // changes nothing leaves x bit for bit.
        let out = keepsReconstructionError ? base + (decoded - sae.decode(z, mean: mean, std: std)) : decoded
        return InterventionResult(out, sideOutputs: sides)
    }

    /// One edit on latents z (…, L), through masks over the latent axis (differentiable).
    func apply(_ edit: LatentEdit, to z: Tensor, source: Tensor?) throws -> Tensor {
        let mask = Self.mask(edit.latents, latents: sae.latents, rank: z.rank)
        switch edit {
        case .set(_, let value): return z * (1 - mask) + mask * value
        case .scale(_, let factor): return z * (1 + mask * (factor - 1))
        case .ablate: return z * (1 - mask)
        case .clamp(_, let low, let high): return z + mask * (z.clamped(min: low, max: high) - z)
        case .interchange:
            guard let source else { throw InterventionError.missingSource(intervention: typeName) }
            return z * (1 - mask) + sae.encode(source).latents * mask
        }
    }

    /// (1, …, 1, L) with ones on `latents`.
    static func mask(_ latents: [Int], latents count: Int, rank: Int) -> Tensor {
        var values = [Float](repeating: 0, count: count)
        for i in latents { values[i] = 1 }
        return Tensor(shape: Array(repeating: 1, count: Swift.max(rank - 1, 0)) + [count], values: values)
    }
}
