import Tensors

/// Turns the `state_dict` pyvene saves for one intervention (`intkey_<key>.bin`) into the tensors
/// this library's `Intervention.loadState` reads.
///
/// - `embed_dim` and `interchange_dim` (0-d buffers) and Boundless DAS's unused
///   `intervention_population` are dropped: the dimensions come from the folder's config.
/// - `source_representation` is taken out (it becomes the representation's constant source).
/// - A rotation saved through torch's orthogonal parametrization,
///   `<p>.parametrizations.weight.original` X (n × k) with `<p>.parametrizations.weight.0.base`
///   B, becomes `<p>.weight` = B · Q(X), with torch's default map for the shape:
///
///       square (n = k):   Q = exp(A),  A = tril(X) − tril(X)ᵀ                      (matrix_exp)
///       tall (n > k):     Q = H(tril(X, −1), τ) · diag(trunc(diag X)),
///                         τ_j = 2 / (1 + Σ_i tril(X, −1)[i, j]²)                   (householder)
///
///   (a wide X, n < k, is handled transposed, as torch does). Without a base, Q itself.
/// - Every other tensor keeps its name (pyvene and this library share them: `W_enc`,
///   `autoencoder.encoder.0.weight`, `masks`, `temperature`, …).
public enum PyveneState {
    /// The names that are dropped.
    public static let droppedNames: Set<String> = ["embed_dim", "interchange_dim", "intervention_population"]

    /// The translated tensors and the constant source, if the state held one.
    public static func translate(_ state: [String: Tensor], file: String, key: String) throws
        -> (tensors: [String: Tensor], sourceRepresentation: Tensor?) {
        var out: [String: Tensor] = [:]
        let marker = ".parametrizations.weight."
        for (name, tensor) in state where !droppedNames.contains(name) && name != "source_representation" {
            guard let range = name.range(of: marker) else {
                out[name] = tensor
                continue
            }
            let prefix = String(name[..<range.lowerBound])
            let rest = String(name[range.upperBound...])
            guard rest == "original" || rest == "0.base" else {
                throw BundleError.tensor(path: file, intervention: key, reason: "tensor '\(name)' is not an orthogonal parametrization's 'original' or '0.base'")
            }
            guard rest == "original" else { continue }
            out[prefix + ".weight"] = try orthogonalWeight(original: tensor, base: state[prefix + marker + "0.base"],
                                                           name: prefix, file: file, key: key)
        }
        return (out, state["source_representation"])
    }

    /// The matrix torch's `orthogonal` parametrization computes from its parameter X (n × k) and
    /// its base B (max(n, k) square, or none).
    public static func orthogonalWeight(original x: Tensor, base: Tensor?, name: String, file: String, key: String) throws -> Tensor {
        guard x.rank == 2, x.shape[0] >= 1, x.shape[1] >= 1 else {
            throw BundleError.tensor(path: file, intervention: key, reason: "'\(name)' parametrization has shape \(x.shape), expected a matrix")
        }
        let transposed = x.shape[0] < x.shape[1]
        let tall = transposed ? x.transposed().contiguous() : x.contiguous()
        let n = tall.shape[0], k = tall.shape[1]
        if let base, base.shape != [n, n] {
            throw BundleError.tensor(path: file, intervention: key, reason: "'\(name)' base has shape \(base.shape), expected \([n, n])")
        }
        let v = tall.scalars
        guard v.allSatisfy(\.isFinite), base?.scalars.allSatisfy(\.isFinite) ?? true else {
            throw BundleError.tensor(path: file, intervention: key, reason: "'\(name)' parametrization holds non-finite values")
        }
        var q: Tensor
        if n == k {
            var a = [Float](repeating: 0, count: n * n)
            for i in 0..<n { for j in 0..<i { a[i * n + j] = v[i * n + j]; a[j * n + i] = -v[i * n + j] } }
            q = LinearAlgebra.matrixExponential(Tensor(shape: [n, n], values: a))
        } else {
            var below = [Float](repeating: 0, count: n * k), tau = [Float](repeating: 0, count: k)
            for i in 0..<n { for j in 0..<min(i, k) { below[i * k + j] = v[i * k + j] } }
            for j in 0..<k {
                var s: Float = 0
                for i in (j + 1)..<n { s += below[i * k + j] * below[i * k + j] }
                tau[j] = 2 / (1 + s)
            }
            let signs = (0..<k).map { v[$0 * k + $0].rounded(.towardZero) }   // as torch's .int()
            q = LinearAlgebra.householderProduct(Tensor(shape: [n, k], values: below), tau: tau) * Tensor(shape: [1, k], values: signs)
        }
        if let base { q = base.matmul(q) }
        return (transposed ? q.transposed() : q).contiguous()
    }
}
