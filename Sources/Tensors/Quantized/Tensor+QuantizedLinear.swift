import CKernels

extension Tensor {
    /// y = x Wᵀ (+ b) over the last dimension with W (out, in) kept in its quantized blocks.
    ///
    /// Shapes: x (…, in), W (out, in), bias (out) → (…, out). Up to `QuantizedProduct.fusedRowLimit`
    /// input rows (decoding one token, short prompts) run the fused kernel, which decodes each
    /// block once and multiplies it into every row; more rows dequantize W a tile of rows at a
    /// time into one reused buffer and multiply the tile by sgemm. Either way every weight equals
    /// the dequantized weight exactly; only the summation order differs from
    /// `linear(weight: W.dequantized())`.
    ///
    /// W is frozen: the gradient flows to x (dx = dy · W, by the same tiles) and to the bias,
    /// never to W.
    public func linear(quantized w: QuantizedMatrix, bias: Tensor? = nil) -> Tensor {
        let inFeatures = shape[rank - 1], outFeatures = w.rows
        precondition(w.columns == inFeatures, "linear: input width \(inFeatures) does not match quantized weight \(w.shape)")
        if let bias { precondition(bias.shape == [outFeatures], "linear: bias \(bias.shape) should be [\(outFeatures)]") }
        let x = contiguousData()
        let rows = count / Swift.max(inFeatures, 1)
        let out = Tensor(uninitializedShape: Array(shape.dropLast()) + [outFeatures])
        let b = bias?.contiguousData()
        withExtendedLifetime((x, b)) {
            QuantizedProduct.forward(x.basePointer, rows: rows, w, bias: b?.basePointer, into: out.storage.pointer)
        }
        let inputs = bias.map { [self, $0] } ?? [self]
        return out.recordingGradient(inputs: inputs) { g, needs in
            let g2 = g.contiguousData()
            var grads: [Tensor?] = Array(repeating: nil, count: needs.count)
            if needs[0] {
                let dx = Tensor(uninitializedShape: x.shape)
                QuantizedProduct.inputGradient(g2.basePointer, rows: rows, w, into: dx.storage.pointer)
                grads[0] = dx
            }
            if needs.count == 2 && needs[1] { grads[1] = g2.reshaped([rows, outFeatures]).sumKernel(axis: 0, keepDims: false) }
            return grads
        }
    }

    /// Rows `ids` of a quantized table W (V, D), decoded: shape ids.shape + [D]. Each row is
    /// decoded straight into the output (values equal the dequantized table's). The table is
    /// frozen, so nothing is recorded for autodiff. Ids must lie in 0..<V (programmer error).
    public static func embedding(quantized table: QuantizedMatrix, ids: IndexTensor) -> Tensor {
        let vocab = table.rows, dim = table.columns
        let out = Tensor(uninitializedShape: ids.shape + [dim])
        let dst = out.storage.pointer
        for (i, id) in ids.values.enumerated() {
            precondition(id >= 0 && id < vocab, "id \(id) out of range 0..<\(vocab)")
            _ = ik_dequantize(table.type.rawValue, table.row(id), dst + i * dim, table.blocksPerRow)
        }
        return out
    }
}

/// The two ways of multiplying by a quantized matrix, and the input gradient.
public enum QuantizedProduct {
    /// Most input rows that use the fused decode-and-multiply kernel; more use tiles + sgemm.
    /// Set from `intervene-bench quant_kernels` on 2 cores (see its output for the crossover).
    nonisolated(unsafe) public static var fusedRowLimit = 16
    /// Floats in one dequantized tile of weight rows (1 MiB).
    public static let tileElements = 1 << 18

    /// y (rows, out) = x (rows, in) · Wᵀ (+ bias), choosing the kernel by the number of rows.
    static func forward(_ x: UnsafePointer<Float>, rows: Int, _ w: QuantizedMatrix, bias: UnsafePointer<Float>?,
                        into y: UnsafeMutablePointer<Float>) {
        if rows == 0 || w.rows == 0 { return }
        if rows <= fusedRowLimit { fused(x, rows: rows, w, bias: bias, into: y) } else { tiled(x, rows: rows, w, bias: bias, into: y) }
    }

    /// The fused kernel over all output rows, split across cores; x rows in groups of
    /// IK_QUANT_MAX_ROWS.
    public static func fused(_ x: UnsafePointer<Float>, rows: Int, _ w: QuantizedMatrix, bias: UnsafePointer<Float>?,
                             into y: UnsafeMutablePointer<Float>) {
        let cols = w.columns, out = w.rows, group = Int(IK_QUANT_MAX_ROWS)
        let grain = Swift.max(1, 32_768 / Swift.max(cols * Swift.min(rows, group), 1))
        let base = w.row(0)
        Parallel.forRanges(out, grain: grain, alignment: 1) { part in
            for r0 in stride(from: 0, to: rows, by: group) {
                let n = Swift.min(group, rows - r0)
                let status = ik_quant_matmul_rows(w.type.rawValue, base, w.rowByteCount, part.lowerBound, part.upperBound, cols,
                                                  x + r0 * cols, n, cols, bias, y + r0 * out, out)
                precondition(status == 0, "no quantized kernel for \(w.type.name)")
            }
        }
    }

    /// Tiles of weight rows dequantized into one buffer, each multiplied by sgemm into its
    /// columns of y.
    public static func tiled(_ x: UnsafePointer<Float>, rows: Int, _ w: QuantizedMatrix, bias: UnsafePointer<Float>?,
                             into y: UnsafeMutablePointer<Float>) {
        let cols = w.columns, out = w.rows
        if let bias { for r in 0..<rows { (y + r * out).update(from: bias, count: out) } }
        let tileRows = Swift.max(1, Swift.min(out, tileElements / Swift.max(cols, 1)))
        let tile = Tensor(uninitializedShape: [tileRows, cols])
        let xOp = BLASOperand(rawPointer: UnsafeMutablePointer(mutating: x), transposed: false, leadingDimension: cols, rows: rows, cols: cols)
        for start in stride(from: 0, to: out, by: tileRows) {
            let t = Swift.min(tileRows, out - start)
            w.dequantizeRows(start..<(start + t), into: tile.storage.pointer)
            let wOp = BLASOperand(rawPointer: tile.storage.pointer, transposed: true, leadingDimension: cols, rows: cols, cols: t)
            BLAS.gemm(xOp, wOp, into: y + start, ldc: out, beta: bias == nil ? 0 : 1)
        }
    }

    /// dx (rows, in) = dy (rows, out) · W, accumulated tile by tile of weight rows.
    public static func inputGradient(_ dy: UnsafePointer<Float>, rows: Int, _ w: QuantizedMatrix, into dx: UnsafeMutablePointer<Float>) {
        let cols = w.columns, out = w.rows
        if out == 0 {
            dx.update(repeating: 0, count: rows * cols)
            return
        }
        let tileRows = Swift.max(1, Swift.min(out, tileElements / Swift.max(cols, 1)))
        let tile = Tensor(uninitializedShape: [tileRows, cols])
        for start in stride(from: 0, to: out, by: tileRows) {
            let t = Swift.min(tileRows, out - start)
            w.dequantizeRows(start..<(start + t), into: tile.storage.pointer)
            let gOp = BLASOperand(rawPointer: UnsafeMutablePointer(mutating: dy + start), transposed: false, leadingDimension: out, rows: rows, cols: t)
            let wOp = BLASOperand(rawPointer: tile.storage.pointer, transposed: false, leadingDimension: cols, rows: t, cols: cols)
            BLAS.gemm(gOp, wOp, into: dx, ldc: cols, beta: start == 0 ? 0 : 1)
        }
    }
}
