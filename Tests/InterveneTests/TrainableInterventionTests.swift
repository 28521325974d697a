import Foundation
import Testing
@testable import Intervene
import Models
import Tensors

@Suite struct TrainableInterventionTests {
    func check(_ inputs: [Tensor], sourceLocation: SourceLocation = #_sourceLocation, _ f: ([Tensor]) -> Tensor) {
        for m in GradientCheck.mismatches(inputs, atol: 1e-3, f) { Issue.record("\(m)", sourceLocation: sourceLocation) }
    }

    @Test func rotatedSpaceGradients() throws {
        let base = Tensor.randomNormal([3, 6], seed: 1), source = Tensor.randomNormal([3, 6], seed: 2)
        let das = RotatedSpaceIntervention(embedDimension: 6, interchangeDimension: 2, seed: 3)
        das.rotation.generator.assign(Tensor.randomNormal([6, 6], std: 0.2, seed: 4))
        // With respect to the generator W (through the Cayley transform) and to the inputs.
        check([das.rotation.generator.value, base, source]) { t in
            let r = das.rotation.base.value.matmul(Cayley.transform(t[0]))
            let m = Tensor([1, 1, 0, 0, 0, 0])
            return ((1 - m) * t[1].matmul(r) + m * t[2].matmul(r)).matmul(r.transposed())
        }
        // The intervention computes exactly that formula.
        let out = try das.apply(base: base, source: source, subspaces: nil).output
        let r = das.rotation.matrix()
        let m = Tensor([1, 1, 0, 0, 0, 0])
        #expect(maxDifference(out, ((1 - m) * base.matmul(r) + m * source.matmul(r)).matmul(r.transposed())) < 1e-6)
    }

    /// Central differences of Σ apply(…)² with respect to each element of `p`, against the
    /// gradient that backward() through `apply` leaves on `p`.
    func checkParameterGradient(_ p: Parameter, _ label: String, sourceLocation: SourceLocation = #_sourceLocation,
                                _ run: () throws -> Tensor) throws {
        p.zeroGrad()
        try run().square().sum().backward()
        guard let analytic = p.grad?.scalars else { Issue.record("\(label): no gradient", sourceLocation: sourceLocation); return }
        let original = p.value.scalars, eps: Float = 1e-2
        func loss(_ values: [Float]) throws -> Float {
            p.assign(Tensor(shape: p.shape, values: values))
            return try Tensor.withoutGradients { try run().square().sum().item }
        }
        for i in original.indices {
            var plus = original, minus = original
            plus[i] += eps
            minus[i] -= eps
            let numeric = (try loss(plus) - loss(minus)) / (2 * eps)
            if abs(numeric - analytic[i]) > 1e-2 + 2e-2 * abs(numeric) {
                Issue.record("\(label)[\(i)]: autodiff \(analytic[i]) vs finite difference \(numeric)", sourceLocation: sourceLocation)
            }
        }
        p.assign(Tensor(shape: p.shape, values: original))
    }

    /// Every trainable parameter's gradient through `apply` matches finite differences.
    @Test func interventionApplyIsDifferentiableInItsParameters() throws {
        let base = Tensor.randomNormal([2, 5], seed: 1), source = Tensor.randomNormal([2, 5], seed: 2)
        let boundless = BoundlessRotatedSpaceIntervention(embedDimension: 5, seed: 3, boundary: 0.4, temperature: 0.5)
        boundless.rotation.generator.assign(Tensor.randomNormal([5, 5], std: 0.3, seed: 8))
        let sigmoid = SigmoidMaskIntervention(embedDimension: 5, temperature: 0.7)
        sigmoid.mask.assign(Tensor.randomNormal([5], seed: 4))
        let maskedRotation = SigmoidMaskRotatedSpaceIntervention(embedDimension: 5, seed: 5, temperature: 1)
        maskedRotation.masks.assign(Tensor.randomNormal([5], seed: 9))
        let lowRank = LowRankRotatedSpaceIntervention(embedDimension: 5, rank: 2, seed: 6)
        let das = RotatedSpaceIntervention(embedDimension: 5, interchangeDimension: 2, seed: 7)
        for intervention in [boundless as any Intervention, sigmoid, maskedRotation, lowRank, das] {
            var checked = 0
            for (name, p) in intervention.namedParameters where p.isTrainable {
                try checkParameterGradient(p, "\(intervention.typeName).\(name)") {
                    try intervention.apply(base: base, source: source, subspaces: nil).output
                }
                checked += 1
            }
            #expect(checked > 0, "\(intervention.typeName) has no trainable parameter")
        }
        // The boundary moves the soft mask: its gradient is not zero here.
        try boundless.apply(base: base, source: source, subspaces: nil).output.square().sum().backward()
        #expect((boundless.boundaries.grad?.abs().maxValue() ?? 0) > 1e-4)
    }

    @Test func lowRankAndPCAFormulas() throws {
        let base = Tensor.randomNormal([4, 6], seed: 1), source = Tensor.randomNormal([4, 6], seed: 2)
        let low = LowRankRotatedSpaceIntervention(embedDimension: 6, rank: 2, seed: 3)
        let w = low.rotation.matrix()
        #expect(maxDifference(w.transposed().matmul(w), Tensor.eye(2)) < 1e-5)
        #expect(maxDifference(try low.apply(base: base, source: source, subspaces: nil).output, base + (source.matmul(w) - base.matmul(w)).matmul(w.transposed())) < 1e-6)
        let pca = PCARotatedSpaceIntervention(embedDimension: 6)
        try pca.fit(Tensor.randomNormal([200, 6], seed: 4) * Tensor([5, 1, 1, 1, 1, 0.1]))
        // Full interchange in a complete basis gives the source.
        #expect(maxDifference(try pca.apply(base: base, source: source, subspaces: nil).output, source) < 1e-4)
        // No dimensions: the base.
        #expect(maxDifference(try pca.apply(base: base, source: source, subspaces: Array(repeating: [], count: 4)).output, base) < 1e-5)
    }

    @Test func savedStateRestoresTheSameIntervention() throws {
        let original = BoundlessRotatedSpaceIntervention(embedDimension: 6, seed: 1, boundary: 0.3, temperature: 2)
        original.rotation.generator.assign(Tensor.randomNormal([6, 6], std: 0.3, seed: 2))
        let copy = BoundlessRotatedSpaceIntervention(embedDimension: 6, seed: 9)
        try copy.loadState(original.stateTensors())
        let base = Tensor.randomNormal([2, 6], seed: 3), source = Tensor.randomNormal([2, 6], seed: 4)
        #expect(maxDifference(try copy.apply(base: base, source: source, subspaces: nil).output, try original.apply(base: base, source: source, subspaces: nil).output) < 1e-5)
        let low = LowRankRotatedSpaceIntervention(embedDimension: 6, rank: 2, seed: 5)
        let lowCopy = LowRankRotatedSpaceIntervention(embedDimension: 6, rank: 2, seed: 6)
        try lowCopy.loadState(low.stateTensors())
        #expect(maxDifference(lowCopy.rotation.matrix(), low.rotation.matrix()) < 1e-6)
        #expect(throws: InterventionError.self) { try copy.loadState(["rotate_layer.weight": Tensor.eye(5)]) }
        #expect(throws: InterventionError.self) { try copy.loadState([:]) }
    }

    @Test func rotationsStayOrthogonalThroughTenThousandSteps() throws {
        let das = RotatedSpaceIntervention(embedDimension: 16, seed: 1)
        let optimizer = Adam(das.namedParameters.map(\.parameter), learningRate: 1e-2)
        var g = RandomGenerator(seed: 2)
        let target = Tensor.randomNormal([16, 16], using: &g)
        for _ in 0..<10_000 {
            optimizer.zeroGrad()
            let r = das.rotation.matrix()
            (r - target).square().sum().backward()
            optimizer.step()
        }
        #expect(das.rotation.orthogonalityError() <= 1e-4)
        // It did move: the loss fell from its start.
        #expect(maxDifference(das.rotation.matrix(), das.rotation.base.value) > 0.1)
    }
}
