import CBLAS

/// How BLAS should read a 2-D operand in place: base pointer, whether it is stored transposed,
/// and its leading dimension.
struct BLASOperand {
    let pointer: UnsafeMutablePointer<Float>
    let transposed: Bool
    let leadingDimension: Int
    let rows: Int
    let cols: Int

    /// An operand with an explicit layout.
    init(rawPointer: UnsafeMutablePointer<Float>, transposed: Bool, leadingDimension: Int, rows: Int, cols: Int) {
        self.pointer = rawPointer
        self.transposed = transposed
        self.leadingDimension = leadingDimension
        self.rows = rows
        self.cols = cols
    }

    var transposeFlag: CBLAS_TRANSPOSE { transposed ? CblasTrans : CblasNoTrans }

    /// Reads a matrix with the given strides in place, or returns nil when BLAS cannot.
    init?(pointer: UnsafeMutablePointer<Float>, rows: Int, cols: Int, rowStride: Int, colStride: Int) {
        self.pointer = pointer
        self.rows = rows
        self.cols = cols
        if (cols == 1 || colStride == 1) && (rows == 1 || rowStride >= Swift.max(cols, 1)) {
            transposed = false
            leadingDimension = rows == 1 ? Swift.max(cols, 1) : rowStride
            if leadingDimension < Swift.max(cols, 1) { return nil }
        } else if (rows == 1 || rowStride == 1) && (cols == 1 || colStride >= Swift.max(rows, 1)) {
            transposed = true
            leadingDimension = cols == 1 ? Swift.max(rows, 1) : colStride
            if leadingDimension < Swift.max(rows, 1) { return nil }
        } else {
            return nil
        }
    }

    /// Distance between consecutive elements of a row (for a 1 × K operand used as a vector).
    var rowIncrement: Int { transposed ? leadingDimension : 1 }
    /// Distance between consecutive elements of a column (for a K × 1 operand used as a vector).
    var columnIncrement: Int { transposed ? 1 : leadingDimension }
}

/// Matrix products through cblas_sgemm (cblas_sgemv for single rows or columns), reading
/// transposed views through BLAS's transpose flags instead of copying them.
public enum BLAS {
    /// C (m × n, row stride ldc) = alpha · A · B + beta · C.
    static func gemm(_ a: BLASOperand, _ b: BLASOperand, into c: UnsafeMutablePointer<Float>, ldc: Int,
                     alpha: Float = 1, beta: Float = 0) {
        let m = a.rows, k = a.cols, n = b.cols
        precondition(b.rows == k, "inner dimensions differ: \(a.rows)×\(a.cols) · \(b.rows)×\(b.cols)")
        if m == 0 || n == 0 { return }
        if k == 0 {
            for i in 0..<m {
                for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] }
            }
            return
        }
        if m == 1 {
            // y (1 × n) = x (1 × k) · B (k × n)  ⇔  yᵀ = Bᵀ x
            if b.transposed {
                cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(n), Int32(k), alpha, b.pointer, Int32(b.leadingDimension),
                            a.pointer, Int32(a.rowIncrement), beta, c, 1)
            } else {
                cblas_sgemv(CblasRowMajor, CblasTrans, Int32(k), Int32(n), alpha, b.pointer, Int32(b.leadingDimension),
                            a.pointer, Int32(a.rowIncrement), beta, c, 1)
            }
            return
        }
        if n == 1 {
            // y (m × 1) = A (m × k) · b (k × 1)
            if a.transposed {
                cblas_sgemv(CblasRowMajor, CblasTrans, Int32(k), Int32(m), alpha, a.pointer, Int32(a.leadingDimension),
                            b.pointer, Int32(b.columnIncrement), beta, c, Int32(ldc))
            } else {
                cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(m), Int32(k), alpha, a.pointer, Int32(a.leadingDimension),
                            b.pointer, Int32(b.columnIncrement), beta, c, Int32(ldc))
            }
            return
        }
        cblas_sgemm(CblasRowMajor, a.transposeFlag, b.transposeFlag, Int32(m), Int32(n), Int32(k), alpha,
                    a.pointer, Int32(a.leadingDimension), b.pointer, Int32(b.leadingDimension), beta, c, Int32(ldc))
    }

    /// Sets OpenBLAS's (process-wide) thread count.
    public static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(n)) }

    /// OpenBLAS's current thread count.
    public static var threads: Int { Int(openblas_get_num_threads()) }
}

extension Tensor {
    /// This tensor's last two dimensions at batch offset `offset` as a BLAS operand, if readable
    /// in place.
    func blasOperand(at extraOffset: Int) -> BLASOperand? {
        let r = rank
        return BLASOperand(pointer: storage.pointer + offset + extraOffset, rows: shape[r - 2], cols: shape[r - 1],
                           rowStride: strides[r - 2], colStride: strides[r - 1])
    }

    /// Matrix product over the last two dimensions, broadcasting leading (batch) dimensions.
    /// A 1-D left operand is a row vector, a 1-D right operand a column vector (both squeezed
    /// from the result), as in NumPy.
    public func matmul(_ other: Tensor) -> Tensor {
        if rank == 1 { return unsqueezed(0).matmul(other).squeezed(-2) }
        if other.rank == 1 { return matmul(other.unsqueezed(1)).squeezed(-1) }
        let product = Tensor.matmulKernel(self, other)
        if gradNode == nil && other.gradNode == nil { return product }
        return product.recordingGradient(inputs: [self, other]) { [a = self.detached(), b = other.detached()] g, needs in
            var grads: [Tensor?] = [nil, nil]
            if needs[0] { grads[0] = Tensor.matmulKernel(g, b.transposed()).summed(toShape: a.shape) }
            if needs[1] {
                if b.rank == 2 && a.rank > 2 {
                    // Fold the batch: dB = Σ_batch Aᵀ G = (A as rows)ᵀ · (G as rows).
                    let af = a.reshaped([-1, a.shape[a.rank - 1]]), gf = g.reshaped([-1, g.shape[g.rank - 1]])
                    grads[1] = Tensor.matmulKernel(af.transposed(), gf)
                } else {
                    grads[1] = Tensor.matmulKernel(a.transposed(), g).summed(toShape: b.shape)
                }
            }
            return grads
        }
    }

    /// The forward product without autodiff.
    static func matmulKernel(_ a0: Tensor, _ b0: Tensor) -> Tensor {
        if a0.rank == 2 && b0.rank == 2 {
            // The common case, without batch bookkeeping.
            let m = a0.shape[0], k = a0.shape[1], n = b0.shape[1]
            precondition(b0.shape[0] == k, "matmul: inner dimensions differ, \(a0.shape) · \(b0.shape)")
            if m == 0 || n == 0 || k == 0 { return Tensor.zeros([m, n]) }
            let out = Tensor(uninitializedShape: [m, n])
            if let aOp = a0.blasOperand(at: 0), let bOp = b0.blasOperand(at: 0) {
                // a0 and b0 are the caller's and outlive this call.
                BLAS.gemm(aOp, bOp, into: out.storage.pointer, ldc: n)
                return out
            }
            let a = a0.blasOperand(at: 0) == nil ? a0.contiguousData() : a0
            let b = b0.blasOperand(at: 0) == nil ? b0.contiguousData() : b0
            withExtendedLifetime((a, b)) {
                BLAS.gemm(a.blasOperand(at: 0)!, b.blasOperand(at: 0)!, into: out.storage.pointer, ldc: n)
            }
            return out
        }
        let m = a0.shape[a0.rank - 2], k = a0.shape[a0.rank - 1]
        let k2 = b0.shape[b0.rank - 2], n = b0.shape[b0.rank - 1]
        precondition(k == k2, "matmul: inner dimensions differ, \(a0.shape) · \(b0.shape)")
        let batchA = Array(a0.shape.dropLast(2)), batchB = Array(b0.shape.dropLast(2))
        guard let batch = Broadcasting.shape(batchA, batchB) else {
            preconditionFailure("matmul: batch dimensions \(batchA) and \(batchB) do not broadcast")
        }
        if m == 0 || n == 0 || k == 0 { return Tensor.zeros(batch + [m, n]) }
        var a = a0.detached(), b = b0.detached()
        // A 2-D right operand with a contiguous batched left operand: one sgemm over all rows.
        if b.rank == 2 && a.rank > 2 && a.isContiguous {
            let rows = a.count / Swift.max(k, 1)
            let out = Tensor(uninitializedShape: batch + [m, n])
            if b.blasOperand(at: 0) == nil { b = b.contiguousData() }
            let aOp = BLASOperand(pointer: a.basePointer, rows: rows, cols: k, rowStride: k, colStride: 1)!
            BLAS.gemm(aOp, b.blasOperand(at: 0)!, into: out.storage.pointer, ldc: n)
            return out
        }
        if a.blasOperand(at: 0) == nil { a = a.contiguousData() }
        if b.blasOperand(at: 0) == nil { b = b.contiguousData() }
        let out = Tensor(uninitializedShape: batch + [m, n])
        let batchCount = batch.reduce(1, *)
        let stridesA = Tensor.batchStrides(a, batch), stridesB = Tensor.batchStrides(b, batch)
        let dst = out.storage.pointer
        var odometer = IndexOdometer(shape: batch)
        for bi in 0..<batchCount {
            BLAS.gemm(a.blasOperand(at: odometer.offset(stridesA))!, b.blasOperand(at: odometer.offset(stridesB))!,
                      into: dst + bi * m * n, ldc: n)
            odometer.advance()
        }
        return out
    }

    /// Strides of `t`'s batch dimensions broadcast to `batch` (0 where broadcast).
    static func batchStrides(_ t: Tensor, _ batch: [Int]) -> [Int] {
        Broadcasting.strides(shape: Array(t.shape.dropLast(2)), strides: Array(t.strides.dropLast(2)), to: batch)
    }
}
