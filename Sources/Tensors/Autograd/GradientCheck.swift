/// Compares reverse-mode gradients with central finite differences — the check every
/// differentiable operation in Intervene passes.
public enum GradientCheck {
    /// One disagreement between autodiff and finite differences.
    public struct Mismatch: CustomStringConvertible, Sendable {
        public let input: Int
        public let element: Int
        public let autodiff: Float
        public let numeric: Float
        public var description: String { "input \(input) element \(element): autodiff \(autodiff) vs finite difference \(numeric)" }
    }

    /// Checks ∂/∂inputs of Σ f(inputs) ⊙ W for a fixed random W, element by element (up to
    /// `samples` per input), with central differences of step `eps` in Float32. An element
    /// agrees when |autodiff − numeric| ≤ atol + rtol·|numeric|. Returns the disagreements.
    public static func mismatches(_ inputs: [Tensor], eps: Float = 1e-2, atol: Float = 5e-4, rtol: Float = 3e-3,
                                  samples: Int = 40, seed: UInt64 = 7, _ f: ([Tensor]) -> Tensor) -> [Mismatch] {
        let leaves = inputs.map { input -> Tensor in
            var t = input.copy()
            t.requiresGrad = true
            return t
        }
        let probe = Tensor.withoutGradients { f(leaves.map { $0.detached() }) }
        let weights = Tensor.randomNormal(probe.shape, seed: seed)
        (f(leaves) * weights).sum().backward()
        var generator = RandomGenerator(seed: seed + 1)
        var found: [Mismatch] = []
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
                if Swift.abs(analytic[i] - numeric) > atol + rtol * Swift.abs(numeric) {
                    found.append(Mismatch(input: k, element: i, autodiff: analytic[i], numeric: numeric))
                }
            }
            leaves[k].zeroGrad()
        }
        return found
    }
}
