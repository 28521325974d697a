import Testing
@testable import Features
import Models
import Tensors

/// Finite-difference checks of the differentiable parts of a codebook, and the straight-through
/// identities of each objective.
@Suite struct CodebookGradientTests {
    func layer(_ objective: CodebookObjective, k: Int = 2) throws -> CodebookLayer {
        let layer = try CodebookLayer(name: "t", width: 6, codeCount: 9, k: k, objective: objective, seed: 3)
        layer.normWeight.assign(Tensor.randomNormal([6], mean: 1, std: 0.2, seed: 4))
        layer.normBias.assign(Tensor.randomNormal([6], std: 0.2, seed: 5))
        return layer
    }

    /// Fixed ids with a blocked slot: the mean of codes is linear in C.
    let ids = [0, 3, 5, -1, 2, 2, 8, 1]

    @Test func meanOfCodesMatchesFiniteDifferences() throws {
        let l = try layer(.aeloss)
        let codes = Tensor.randomNormal([9, 6], seed: 11)
        let bad = GradientCheck.mismatches([codes]) { inputs in l.meanOfCodes(self.ids, rows: 4, table: inputs[0]) }
        #expect(bad.isEmpty, "\(bad.prefix(3))")
    }

    @Test(arguments: [CodebookObjective.aeloss, .fullaeloss(beta: 0.25), .vqvae(beta: 0.5)])
    func auxiliaryLossesMatchFiniteDifferences(_ objective: CodebookObjective) throws {
        let l = try layer(objective)
        let codes = Tensor.randomNormal([9, 6], seed: 12), xn = Tensor.randomNormal([4, 6], seed: 13)
        // codebook_mse in C (xn held), commitment in xn (codes held): each is a smooth function.
        let mse = GradientCheck.mismatches([codes]) { inputs in
            let mean = l.meanOfCodes(self.ids, rows: 4, table: inputs[0])
            return l.auxiliaryLosses(codesMean: mean, normalized: xn)[CodebookObjective.codebookMSELossName]!
        }
        #expect(mse.isEmpty, "\(mse.prefix(3))")
        if objective.commitmentBeta != nil {
            let fixed = l.meanOfCodes(ids, rows: 4, table: codes)
            let commitment = GradientCheck.mismatches([xn]) { inputs in
                l.auxiliaryLosses(codesMean: fixed, normalized: inputs[0])[CodebookObjective.commitmentLossName]!
            }
            #expect(commitment.isEmpty, "\(commitment.prefix(3))")
        }
    }

    /// ∂/∂x of Σ out ⊙ G equals ∂/∂x of Σ LayerNorm(x) ⊙ G (straight through), and the codes get
    /// Σ G/k over the slots that use them — except for vqvae, whose codes get no model gradient.
    @Test(arguments: [CodebookObjective.base, .vqvae(beta: 0.25)])
    func straightThroughPassesTheUpstreamGradient(_ objective: CodebookObjective) throws {
        let l = try layer(objective)
        var x = Tensor.randomNormal([2, 3, 6], seed: 21)
        x.requiresGrad = true
        let seed = Tensor.randomNormal([2, 3, 6], seed: 22)
        let snap = try l.snap(x)
        (snap.output * seed).sum().backward()
        var y = x.detached().copy()
        y.requiresGrad = true
        (y.layerNorm(weight: l.normWeight.value.detached(), bias: l.normBias.value.detached(), epsilon: 1e-5) * seed).sum().backward()
        let gx = try #require(x.grad), gy = try #require(y.grad)
        #expect(zip(gx.scalars, gy.scalars).allSatisfy { Swift.abs($0 - $1) < 1e-5 })
        if objective == .base {
            let ids = try #require(snap.codes).values, g = seed.scalars, grad = try #require(l.codes.grad).scalars
            var expected = [Float](repeating: 0, count: 9 * 6)
            for (slot, id) in ids.enumerated() { for d in 0..<6 { expected[id * 6 + d] += g[(slot / 2) * 6 + d] / 2 } }
            #expect(zip(grad, expected).allSatisfy { Swift.abs($0 - $1) < 1e-5 })
        } else {
            #expect(l.codes.grad == nil)
        }
    }
}
