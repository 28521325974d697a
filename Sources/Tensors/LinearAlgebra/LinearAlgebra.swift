import CKernels
import CLAPACKE

/// A LAPACK routine reported failure.
public struct LinearAlgebraError: Error, CustomStringConvertible, Sendable {
    /// The routine, e.g. "sgesv".
    public let routine: String
    /// LAPACK's `info` code (negative: bad argument; positive: numerical failure).
    public let info: Int32
    /// What went wrong, in words.
    public var description: String {
        info > 0 ? "\(routine) failed: the matrix is singular or did not converge (info \(info))"
                 : "\(routine) rejected argument \(-info)"
    }
}

/// Dense linear algebra on Float32 matrices through LAPACKE (row-major).
public enum LinearAlgebra {
    static let rowMajor = Int32(LAPACK_ROW_MAJOR)

    static func check(_ routine: String, _ info: Int32) throws {
        if info != 0 { throw LinearAlgebraError(routine: routine, info: info) }
    }

    static func character(_ c: Character) -> CChar { CChar(UInt8(ascii: c.unicodeScalars.first!)) }

    /// Thin QR decomposition of an (m × n) matrix, m ≥ n: Q (m × n) with orthonormal columns and
    /// upper-triangular R (n × n), via sgeqrf + sorgqr.
    public static func qr(_ a: Tensor) throws -> (q: Tensor, r: Tensor) {
        precondition(a.rank == 2 && a.shape[0] >= a.shape[1], "qr expects an m × n matrix with m ≥ n, got \(a.shape)")
        let m = a.shape[0], n = a.shape[1]
        var work = a.copy()
        var tau = [Float](repeating: 0, count: Swift.max(n, 1))
        let p = work.storage.pointer
        try check("sgeqrf", LAPACKE_sgeqrf(rowMajor, Int32(m), Int32(n), p, Int32(n), &tau))
        let r = Tensor.zeros([n, n])
        for i in 0..<n { for j in i..<n { r.storage.pointer[i * n + j] = p[i * n + j] } }
        try check("sorgqr", LAPACKE_sorgqr(rowMajor, Int32(m), Int32(n), Int32(n), p, Int32(n), &tau))
        work.gradNode = nil
        return (work, r)
    }

    /// A random orthogonal (n × n) matrix, or (n × k) with orthonormal columns: the Q factor of a
    /// Gaussian matrix, with column signs fixed so that the distribution is uniform (Haar).
    public static func randomOrthogonal(rows n: Int, columns k: Int? = nil, using generator: inout RandomGenerator) -> Tensor {
        let cols = k ?? n
        let g = Tensor.randomNormal([n, cols], using: &generator)
        // A Gaussian matrix has full rank with probability 1; fall back to the identity columns.
        guard let (q, r) = try? qr(g) else { return Tensor.eye(n).narrowed(1, start: 0, length: cols).contiguous() }
        let out = q
        let p = out.storage.pointer
        for j in 0..<cols where r[j, j] < 0 {
            for i in 0..<n { p[i * cols + j] = -p[i * cols + j] }
        }
        return out
    }

    /// Singular value decomposition A = U diag(S) Vᵀ of an (m × n) matrix (thin: k = min(m, n)),
    /// via the divide-and-conquer sgesdd. Singular values are in descending order.
    public static func svd(_ a: Tensor) throws -> (u: Tensor, s: Tensor, vt: Tensor) {
        precondition(a.rank == 2, "svd expects a matrix, got \(a.shape)")
        let m = a.shape[0], n = a.shape[1], k = Swift.min(m, n)
        let work = a.copy()
        var s = Tensor(uninitializedShape: [k])
        var u = Tensor(uninitializedShape: [m, k])
        var vt = Tensor(uninitializedShape: [k, n])
        try check("sgesdd", LAPACKE_sgesdd(rowMajor, character("S"), Int32(m), Int32(n), work.storage.pointer, Int32(n),
                                           s.storage.pointer, u.storage.pointer, Int32(k), vt.storage.pointer, Int32(n)))
        s.gradNode = nil; u.gradNode = nil; vt.gradNode = nil
        return (u, s, vt)
    }

    /// Eigendecomposition of a symmetric matrix: eigenvalues ascending, eigenvectors as columns
    /// (ssyevd, reading the upper triangle).
    public static func symmetricEigen(_ a: Tensor) throws -> (values: Tensor, vectors: Tensor) {
        precondition(a.rank == 2 && a.shape[0] == a.shape[1], "symmetricEigen expects a square matrix, got \(a.shape)")
        let n = a.shape[0]
        let vectors = a.copy()
        var values = Tensor(uninitializedShape: [n])
        try check("ssyevd", LAPACKE_ssyevd(rowMajor, character("V"), character("U"), Int32(n), vectors.storage.pointer,
                                           Int32(n), values.storage.pointer))
        values.gradNode = nil
        return (values, vectors)
    }

    /// Solves A X = B for square A (n × n) and B (n × k) or (n), by LU with partial pivoting
    /// (sgesv; small systems by elimination in C). Not differentiable.
    public static func solve(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        precondition(a.rank == 2 && a.shape[0] == a.shape[1], "solve expects a square matrix, got \(a.shape)")
        let n = a.shape[0]
        precondition(b.shape[0] == n, "solve: right-hand side \(b.shape) does not match \(a.shape)")
        let k = b.rank == 1 ? 1 : b.shape[1]
        let lu = a.copy()
        var x = b.copy()
        if n <= 64 {
            // Small systems (rotations of DAS): elimination in place, no LAPACK dispatch.
            let status = ik_solve_small(n, k, lu.storage.pointer, x.storage.pointer)
            if status != 0 { throw LinearAlgebraError(routine: "solve", info: Int32(status)) }
            x.gradNode = nil
            return x
        }
        var pivots = [Int32](repeating: 0, count: n)
        try check("sgesv", LAPACKE_sgesv(rowMajor, Int32(n), Int32(k), lu.storage.pointer, Int32(n), &pivots,
                                         x.storage.pointer, Int32(k)))
        x.gradNode = nil
        return x
    }
}

