import Testing
@testable import Tensors

/// Asserts that autodiff agrees with finite differences (see `GradientCheck`).
func checkGradients(_ inputs: [Tensor], eps: Float = 1e-2, atol: Float = 5e-4, rtol: Float = 3e-3, samples: Int = 40,
                    seed: UInt64 = 7, sourceLocation: SourceLocation = #_sourceLocation,
                    _ f: ([Tensor]) -> Tensor) {
    for m in GradientCheck.mismatches(inputs, eps: eps, atol: atol, rtol: rtol, samples: samples, seed: seed, f) {
        Issue.record("\(m)", sourceLocation: sourceLocation)
    }
}

/// Random test data.
func random(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
    Tensor.randomNormal(shape, std: scale, seed: seed)
}

/// Asserts two tensors agree elementwise within |a − b| ≤ atol + rtol·|b|.
func expectClose(_ a: Tensor, _ b: Tensor, atol: Float = 1e-5, rtol: Float = 1e-4,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(a.shape == b.shape, "shapes \(a.shape) vs \(b.shape)", sourceLocation: sourceLocation)
    guard a.shape == b.shape else { return }
    let x = a.scalars, y = b.scalars
    var worst: Float = 0
    var worstIndex = 0
    for i in 0..<x.count {
        let excess = abs(x[i] - y[i]) - (atol + rtol * abs(y[i]))
        if excess > worst || x[i].isNaN != y[i].isNaN { worst = max(excess, 1); worstIndex = i }
    }
    #expect(worst <= 0, "element \(worstIndex): \(x.isEmpty ? 0 : x[worstIndex]) vs \(y.isEmpty ? 0 : y[worstIndex])",
            sourceLocation: sourceLocation)
}
