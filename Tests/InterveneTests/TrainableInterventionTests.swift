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
        let out = try das.apply(base: base, source: source, subspaces: nil)
        let r = das.rotation.matrix()
        let m = Tensor([1, 1, 0, 0, 0, 0])
        #expect(maxDifference(out, ((1 - m) * base.matmul(r) + m * source.matmul(r)).matmul(r.transposed())) < 1e-6)
    }

    @Test func interventionApplyIsDifferentiableInItsParameters() throws {
        let base = Tensor.randomNormal([2, 5], seed: 1), source = Tensor.randomNormal([2, 5], seed: 2)
        let boundless = BoundlessRotatedSpaceIntervention(embedDimension: 5, seed: 3, boundary: 0.4, temperature: 0.5)
        check([Tensor([0.4])]) { t in
            boundless.boundaries.assign(t[0].detached())
            let i = Tensor.arange(5)
            let b = t[0].clamped(min: 1e-3, max: 1) * 5
            let mask = (i / 0.5).sigmoid() * ((b - i) / 0.5).sigmoid()
            let r = boundless.rotation.matrix()
            return ((1 - mask) * base.matmul(r) + mask * source.matmul(r)).matmul(r.transposed())
        }
        let sigmoid = SigmoidMaskIntervention(embedDimension: 5, temperature: 0.7)
        check([Tensor.randomNormal([5], seed: 4)]) { t in
            let w = (t[0] * (1 / Float(0.7))).sigmoid()
            return (1 - w) * base + w * source
        }
        // Parameters get gradients through apply.
        var b = base
        b.requiresGrad = true
        for intervention in [boundless as any Intervention, sigmoid, SigmoidMaskRotatedSpaceIntervention(embedDimension: 5, seed: 5),
                             LowRankRotatedSpaceIntervention(embedDimension: 5, rank: 2, seed: 6), RotatedSpaceIntervention(embedDimension: 5, seed: 7)] {
            let out = try intervention.apply(base: b, source: source, subspaces: nil)
            out.square().sum().backward()
            for (name, p) in intervention.namedParameters where p.isTrainable {
                #expect(p.grad != nil, "\(intervention.typeName).\(name) got no gradient")
                p.zeroGrad()
            }
        }
    }

    @Test func lowRankAndPCAFormulas() throws {
        let base = Tensor.randomNormal([4, 6], seed: 1), source = Tensor.randomNormal([4, 6], seed: 2)
        let low = LowRankRotatedSpaceIntervention(embedDimension: 6, rank: 2, seed: 3)
        let w = low.rotation.matrix()
        #expect(maxDifference(w.transposed().matmul(w), Tensor.eye(2)) < 1e-5)
        #expect(maxDifference(try low.apply(base: base, source: source, subspaces: nil), base + (source.matmul(w) - base.matmul(w)).matmul(w.transposed())) < 1e-6)
        let pca = PCARotatedSpaceIntervention(embedDimension: 6)
        try pca.fit(Tensor.randomNormal([200, 6], seed: 4) * Tensor([5, 1, 1, 1, 1, 0.1]))
        // Full interchange in a complete basis gives the source.
        #expect(maxDifference(try pca.apply(base: base, source: source, subspaces: nil), source) < 1e-4)
        // No dimensions: the base.
        #expect(maxDifference(try pca.apply(base: base, source: source, subspaces: Array(repeating: [], count: 4)), base) < 1e-5)
    }

    @Test func savedStateRestoresTheSameIntervention() throws {
        let original = BoundlessRotatedSpaceIntervention(embedDimension: 6, seed: 1, boundary: 0.3, temperature: 2)
        original.rotation.generator.assign(Tensor.randomNormal([6, 6], std: 0.3, seed: 2))
        let copy = BoundlessRotatedSpaceIntervention(embedDimension: 6, seed: 9)
        try copy.loadState(original.stateTensors())
        let base = Tensor.randomNormal([2, 6], seed: 3), source = Tensor.randomNormal([2, 6], seed: 4)
        #expect(maxDifference(try copy.apply(base: base, source: source, subspaces: nil), try original.apply(base: base, source: source, subspaces: nil)) < 1e-5)
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
