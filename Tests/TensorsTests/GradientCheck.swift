import Testing
@testable import Tensors

/// Compares reverse-mode gradients with central finite differences.
///
/// The objective is Σ f(inputs) ⊙ W for a fixed random W, so every output element matters.
/// Differences are taken in Float32 with step `eps`; up to `samples` elements per input are checked,
/// each within `atol + rtol·|numeric|`.
func checkGradients(_ inputs: [Tensor], eps: Float = 1e-2, atol: Float = 5e-4, rtol: Float = 3e-3, samples: Int = 40,
                    seed: UInt64 = 7, sourceLocation: SourceLocation = #_sourceLocation,
                    _ f: ([Tensor]) -> Tensor) {
    var leaves = inputs.map { input -> Tensor in
        var t = input.copy()
        t.requiresGrad = true
        return t
    }
    let probe = Tensor.withoutGradients { f(leaves.map { $0.detached() }) }
    let weights = Tensor.randomNormal(probe.shape, seed: seed)
    let objective = (f(leaves) * weights).sum()
    objective.backward()
    var generator = RandomGenerator(seed: seed + 1)
    for (k, leaf) in leaves.enumerated() {
        let analytic = leaf.grad?.scalars ?? [Float](repeating: 0, count: leaf.count)
        let picks = leaf.count <= samples ? Array(0..<leaf.count) : (0..<samples).map { _ in generator.nextInt(below: leaf.count) }
        for i in picks {
            func evaluate(_ delta: Float) -> Float {
                var perturbed = leaves.map { $0.detached().copy() }
                perturbed[k].withUnsafeMutableElements { $0[i] += delta }
                return Tensor.withoutGradients { (f(perturbed) * weights).sum().item }
            }
            let numeric = (evaluate(eps) - evaluate(-eps)) / (2 * eps)
            let error = abs(analytic[i] - numeric)
            #expect(error <= atol + rtol * abs(numeric),
                    "input \(k) element \(i): autodiff \(analytic[i]) vs finite difference \(numeric)",
                    sourceLocation: sourceLocation)
        }
        leaves[k].zeroGrad()
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
