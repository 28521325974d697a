import Foundation
import Testing
@testable import Tensors

/// The sparse-autoencoder ops: TopK selection, JumpReLU and its step with their
/// pseudo-derivatives, the decoder-norm weighted L1, and in-place gradient edits.
@Suite struct SparseCodingTests {
    /// Values spaced at least 0.05 apart, so a finite-difference step of 1e-3 never changes the
    /// selection or crosses zero.
    func spread(_ shape: [Int], seed: UInt64) -> Tensor {
        let n = shape.reduce(1, *)
        var g = RandomGenerator(seed: seed)
        var values = (0..<n).map { Float($0 - n / 2) * 0.05 + 0.025 }
        for i in stride(from: n - 1, to: 0, by: -1) { values.swapAt(i, g.nextInt(below: i + 1)) }
        return Tensor(shape: shape, values: values)
    }

    @Test func topKKeepsTheLargestPositiveEntriesOfEachRow() {
        let x = Tensor([[3, -1, 2, 5, 0.5], [-2, -3, -1, -4, -5]])
        #expect(x.topKReLU(2).scalars == [3, 0, 0, 5, 0, 0, 0, 0, 0, 0])
        // Ties keep the lower index, as `largestIndices` orders them.
        #expect(Tensor([[1, 2, 2, 2, 0]]).topKReLU(2).scalars == [0, 2, 2, 0, 0])
        #expect(Tensor([[1, 2]]).topKReLU(0).scalars == [0, 0])
        #expect(Tensor([[1, -2]]).topKReLU(2).scalars == [1, 0])
        // Against the heap selection on random rows.
        let r = Tensor.randomNormal([7, 300], seed: 3)
        let kept = r.topKReLU(17).scalars, values = r.scalars
        for row in 0..<7 {
            let slice = Array(values[(row * 300)..<((row + 1) * 300)])
            let top = Set(slice.withUnsafeBufferPointer { Tensor.largestIndices($0, k: 17) })
            for i in 0..<300 { #expect(kept[row * 300 + i] == (top.contains(i) ? max(slice[i], 0) : 0)) }
        }
        // A whole batch as one row (BatchTopK): 6 of 12 kept in all, unevenly per row.
        let batch = Tensor([[9, 8, 7, 6], [1, 0.5, 0.2, 0.1], [5, 4, 3, 2]])
        #expect(batch.reshaped([1, 12]).topKReLU(6).reshaped([3, 4]).scalars == [9, 8, 7, 6, 0, 0, 0, 0, 5, 4, 0, 0])
    }

    @Test func topKGradients() {
        checkGradients([spread([4, 9], seed: 1)], eps: 1e-3, atol: 3e-3) { $0[0].topKReLU(3) }
        checkGradients([spread([2, 10], seed: 2)], eps: 1e-3, atol: 3e-3) { $0[0].reshaped([1, 20]).topKReLU(7).reshaped([2, 10]) }
    }

    @Test func jumpReLUAndStepForward() {
        let x = Tensor([[0.1, 0.5, -1, 2], [0.3, 0.29, 0.31, 0]])
        let theta = Tensor([0.2, 0.2, 0.3, 1])
        #expect(x.jumpReLU(threshold: theta, bandwidth: 0.1).scalars == [0, 0.5, 0, 2, 0.3, 0.29, 0.31, 0])
        #expect(x.heavisideStep(threshold: theta, bandwidth: 0.1).scalars == [0, 1, 0, 1, 1, 1, 1, 0])
    }

    /// Away from the threshold the input gradient is exact: H(x − θ) for JumpReLU, 0 for the step.
    @Test func jumpReLUInputGradients() {
        let theta = Tensor([0.01, -0.4, 0.3, 0.0125, 0.5, -0.2])
        checkGradients([spread([3, 6], seed: 4)], eps: 1e-3, atol: 3e-3) { $0[0].jumpReLU(threshold: theta, bandwidth: 0.1) }
        checkGradients([spread([3, 6], seed: 5)], eps: 1e-3, atol: 3e-3) { $0[0].heavisideStep(threshold: theta, bandwidth: 0.1) }
    }

    /// The threshold's pseudo-derivative is unbiased in expectation: for x ~ N(0, 1),
    /// d/dθ E[x·H(x − θ)] = −θ φ(θ) and d/dθ E[H(x − θ)] = −φ(θ). The mean pseudo-gradient over
    /// many samples matches both the closed form and a central difference of the sample mean.
    @Test func thresholdPseudoDerivativesMatchTheExpectedLoss() {
        let n = 400_000, features = 2
        let x = Tensor.randomNormal([n, features], seed: 11)
        for (index, theta0) in [Float(0.5), 1.2].enumerated() {
            for keepsValue in [true, false] {
                var theta = Tensor.full([features], theta0)
                theta.requiresGrad = true
                func mean(_ t: Tensor) -> Tensor {
                    (keepsValue ? x.jumpReLU(threshold: t, bandwidth: 0.05) : x.heavisideStep(threshold: t, bandwidth: 0.05)).sum() / Float(n)
                }
                mean(theta).backward()
                let pseudo = theta.grad!.scalars.map(Double.init)
                let phi = Foundation.exp(-Double(theta0 * theta0) / 2) / (2 * Double.pi).squareRoot()
                let exact = keepsValue ? -Double(theta0) * phi : -phi
                let h: Float = 0.05
                let up = Tensor.withoutGradients { mean(Tensor.full([features], theta0 + h)).item }
                let down = Tensor.withoutGradients { mean(Tensor.full([features], theta0 - h)).item }
                let difference = Double(up - down) / Double(2 * h) / Double(features)
                for g in pseudo {
                    #expect(abs(g - exact) < 0.02, "θ=\(theta0) keepsValue=\(keepsValue) #\(index): pseudo \(g) vs exact \(exact)")
                    #expect(abs(g - difference) < 0.02, "θ=\(theta0): pseudo \(g) vs central difference \(difference)")
                }
            }
        }
    }

    @Test func decoderWeightedL1ValueAndGradients() {
        let z = Tensor([[1, 0, -2], [0.5, 3, 0]]), w = Tensor([[3, 4], [0, 1], [1, 0]])
        // |z| summed per latent: 1.5, 3, 2; norms 5, 1, 1.
        #expect(abs(Tensor.decoderWeightedL1(latents: z, decoder: w).item - (1.5 * 5 + 3 + 2)) < 1e-5)
        checkGradients([spread([3, 5], seed: 6), random([5, 4], seed: 7)]) { Tensor.decoderWeightedL1(latents: $0[0], decoder: $0[1]) }
        checkGradients([spread([2, 2, 5], seed: 8), random([5, 3], seed: 9)]) { Tensor.decoderWeightedL1(latents: $0[0].relu(), decoder: $0[1]) }
    }

    @Test func gradientsCanBeEditedInPlace() {
        let p = Parameter(Tensor([1, 2, 3]))
        (p.value * p.value).sum().backward()
        p.updateGradient { g in for i in g.indices { g[i] *= -1 } }
        #expect(p.grad?.scalars == [-2, -4, -6])
        let frozen = Parameter(Tensor([1]), trainable: false)
        frozen.updateGradient { _ in Issue.record("a parameter without a gradient has nothing to edit") }
    }
}
