/// The two maps torch's `nn.utils.parametrizations.orthogonal` builds orthogonal matrices with,
/// so that a checkpoint holding the map's free parameter (not the matrix) can be read. Values
/// only (no gradients); every product goes through `matmul` (cblas_sgemm).
extension LinearAlgebra {
    /// exp(A) of a square (n × n) matrix by scaling and squaring: A is scaled by 2⁻ˢ so that
    /// ‖A‖∞ · 2⁻ˢ ≤ ½, the exponential of the scaled matrix is its Taylor series to degree 9
    /// (Horner form; truncation error ≤ ½¹⁰/10! ≈ 3·10⁻¹⁰, below Float32 rounding), and the
    /// result is squared s times.
    /// For a skew-symmetric A the result is orthogonal up to Float32 rounding (about s + 1 ulps
    /// per entry).
    public static func matrixExponential(_ a: Tensor) -> Tensor {
        precondition(a.rank == 2 && a.shape[0] == a.shape[1], "matrixExponential needs a square matrix, got \(a.shape)")
        let n = a.shape[0]
        let values = a.contiguous().scalars
        var norm: Float = 0
        for i in 0..<n {
            var row: Float = 0
            for j in 0..<n { row += Swift.abs(values[i * n + j]) }
            norm = Swift.max(norm, row)
        }
        var squarings = 0
        while norm > 0.5 && squarings < 64 {
            norm /= 2
            squarings += 1
        }
        let scaled = Tensor(shape: [n, n], values: values) * Float.pow2(-squarings)
        let identity = Tensor.eye(n)
        var result = identity
        for degree in stride(from: 9, through: 1, by: -1) {
            result = identity + scaled.matmul(result) / Float(degree)
        }
        for _ in 0..<squarings { result = result.matmul(result) }
        return result.contiguous()
    }

    /// H₀ H₁ ⋯ H_{k−1} restricted to its first k columns, for an (n × k) matrix of Householder
    /// reflectors (LAPACK's orgqr, torch's `linalg.householder_product`): reflector j is
    /// v_j = e_j + Σ_{i>j} V[i, j] e_i (the diagonal and the upper triangle of V are not read) and
    /// H_j = I − τ_j v_j v_jᵀ. Returns (n × k).
    public static func householderProduct(_ reflectors: Tensor, tau: [Float]) -> Tensor {
        precondition(reflectors.rank == 2 && reflectors.shape[0] >= reflectors.shape[1] && tau.count == reflectors.shape[1],
                     "householderProduct needs an n × k matrix with n ≥ k and k coefficients, got \(reflectors.shape) and \(tau.count)")
        let n = reflectors.shape[0], k = reflectors.shape[1]
        let v = reflectors.contiguous().scalars
        var q = Tensor.eye(n).narrowed(1, start: 0, length: k).contiguous()
        var column = [Float](repeating: 0, count: n)
        for j in stride(from: k - 1, through: 0, by: -1) {
            for i in 0..<n { column[i] = i < j ? 0 : (i == j ? 1 : v[i * k + j]) }
            let vj = Tensor(shape: [n, 1], values: column)
            q = q - vj.matmul(vj.transposed().matmul(q)) * tau[j]
        }
        return q.contiguous()
    }
}

fileprivate extension Float {
    /// 2^e for an integer exponent (exact).
    static func pow2(_ e: Int) -> Float { Float(sign: .plus, exponent: e, significand: 1) }
}
