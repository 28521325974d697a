import Foundation
import Tensors

/// A trainable (n × k) matrix with orthonormal columns, R = B · C(W)[:, :k], where B is a fixed
/// orthogonal base, W an unconstrained n × n generator (starting at 0) and C the Cayley
/// transform (see `Cayley` for why Cayley). R stays orthonormal to rounding error at every step
/// because it is recomputed from W, never updated in place.
///
/// Loading a saved R sets B to R completed to an orthonormal basis and W to 0.
public final class Rotation {
    /// The fixed base B (n × n); not trained.
    public let base: Parameter
    /// The generator W (n × n); trained.
    public let generator: Parameter
    /// Columns k of R.
    public let columns: Int
    /// R computed without gradients, valid while B and W keep these versions.
    private var cached: (base: Int, generator: Int, matrix: Tensor)?
    private let cacheLock = NSLock()

    /// A random rotation (Haar-distributed base) drawn from `seed`.
    public init(dimension n: Int, columns k: Int? = nil, seed: UInt64) {
        var g = RandomGenerator(seed: seed)
        base = Parameter(LinearAlgebra.randomOrthogonal(rows: n, using: &g), trainable: false)
        generator = Parameter(Tensor.zeros([n, n]))
        columns = k ?? n
    }

    /// n.
    public var dimension: Int { base.shape[0] }

    /// R (n × k), differentiable in W (and in B when B is made trainable). Without gradients
    /// (evaluation, generation) R is computed once per change of B or W.
    public func matrix() -> Tensor {
        guard !GradientMode.enabled else { return compute() }
        return cacheLock.withLock {
            if let c = cached, c.base == base.version, c.generator == generator.version { return c.matrix }
            let r = compute()
            cached = (base.version, generator.version, r)
            return r
        }
    }

    /// B · C(W)[:, :k]: the k columns are selected before the product.
    private func compute() -> Tensor {
        let c = Cayley.transform(generator.value)
        return base.value.matmul(columns == dimension ? c : c.narrowed(1, start: 0, length: columns))
    }

    /// Sets R: B := R completed to an orthonormal basis, W := 0.
    public func load(_ r: Tensor) throws {
        let n = dimension
        guard r.shape == [n, columns] else {
            throw InterventionError.invalidState(intervention: "rotation", tensor: "rotate_layer.weight", reason: "has shape \(r.shape), expected \([n, columns])")
        }
        var completed = r.contiguous()
        if columns < n {
            var g = RandomGenerator(seed: 17)
            let extra = Tensor.randomNormal([n, n - columns], using: &g)
            let candidate = Tensor.concatenate([r, extra], axis: 1)
            let (q, _) = try LinearAlgebra.qr(candidate)
            // QR may flip signs of the first k columns; keep R's own columns exactly.
            completed = Tensor.concatenate([r, q.narrowed(1, start: columns, length: n - columns)], axis: 1).contiguous()
        }
        base.assign(completed)
        generator.assign(Tensor.zeros([n, n]))
    }

    /// The rotated-space interchange shared by DAS, Boundless DAS and sigmoid masks:
    /// ((1 − m) ⊙ base·R + m ⊙ source·R) · Rᵀ, or source·R·Rᵀ when m is nil. Shapes: base and
    /// source (B, n), m broadcastable to (B, k).
    public func interchange(base: Tensor, source: Tensor, mask m: Tensor?) -> Tensor {
        let r = matrix()
        return SubspaceMask.blend(base.matmul(r), source.matmul(r), mask: m).matmul(r.transposed())
    }

    /// ‖RᵀR − I‖∞: how far R is from having orthonormal columns.
    public func orthogonalityError() -> Float {
        let r = Tensor.withoutGradients { matrix() }
        return (r.transposed().matmul(r) - Tensor.eye(columns)).abs().maxValue()
    }
}
