/// How a linear layer's weight matrix is stored.
public enum WeightLayout: Sendable {
    /// (out_features, in_features): `torch.nn.Linear`; y = x Wᵀ + b.
    case outputMajor
    /// (in_features, out_features): GPT-2's `Conv1D`; y = x W + b.
    case inputMajor
}

extension Tensor {
    /// An affine map of the last dimension, y = x W (+ b), with the weight read in place in either
    /// layout. The bias is written first and the product added on top by sgemm (β = 1), so the
    /// bias costs no extra pass. Frozen weights (no `requiresGrad`) get no gradient computed.
    ///
    /// Shapes: x (…, in), weight (out, in) or (in, out), bias (out) → (…, out).
    public func linear(weight: Tensor, bias: Tensor? = nil, layout: WeightLayout = .outputMajor) -> Tensor {
        let inFeatures = shape[rank - 1]
        let outFeatures = layout == .outputMajor ? weight.shape[0] : weight.shape[1]
        let weightIn = layout == .outputMajor ? weight.shape[1] : weight.shape[0]
        precondition(weight.rank == 2 && weightIn == inFeatures,
                     "linear: input width \(inFeatures) does not match weight \(weight.shape)")
        if let bias { precondition(bias.shape == [outFeatures], "linear: bias \(bias.shape) should be [\(outFeatures)]") }
        let x = contiguousData()
        let rows = count / Swift.max(inFeatures, 1)
        let out = Tensor(uninitializedShape: Array(shape.dropLast()) + [outFeatures])
        let dst = out.storage.pointer
        var beta: Float = 0
        if let bias {
            let b = bias.contiguousData()
            for r in 0..<rows { (dst + r * outFeatures).update(from: b.basePointer, count: outFeatures) }
            beta = 1
        }
        let w = weight.detached()
        var wMatrix = layout == .outputMajor ? w.transposed() : w
        if wMatrix.blasOperand(at: 0) == nil { wMatrix = wMatrix.contiguousData() }
        let xOp = BLASOperand(pointer: x.basePointer, rows: rows, cols: inFeatures, rowStride: inFeatures, colStride: 1)!
        withExtendedLifetime(wMatrix) {
            BLAS.gemm(xOp, wMatrix.blasOperand(at: 0)!, into: dst, ldc: outFeatures, beta: beta)
        }
        let inputs = bias.map { [self, weight, $0] } ?? [self, weight]
        return out.recordingGradient(inputs: inputs) { g, needs in
            let g2 = g.contiguousData().reshaped([rows, outFeatures])
            var grads: [Tensor?] = Array(repeating: nil, count: needs.count)
            if needs[0] {
                // dx = g · W (out,in)  or  g · Wᵀ for (in,out)
                let wBack = layout == .outputMajor ? w : w.transposed()
                grads[0] = Tensor.matmulKernel(g2, wBack).reshaped(x.shape)
            }
            if needs[1] {
                let x2 = x.reshaped([rows, inFeatures])
                grads[1] = layout == .outputMajor
                    ? Tensor.matmulKernel(g2.transposed(), x2)
                    : Tensor.matmulKernel(x2.transposed(), g2)
            }
            if needs.count == 3 && needs[2] { grads[2] = g2.sumKernel(axis: 0, keepDims: false) }
            return grads
        }
    }
}
