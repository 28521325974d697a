import Foundation
import Testing
@testable import Tensors

/// The matrix exponential and the Householder product behind torch's orthogonal parametrization.
@Suite struct OrthogonalMapsTests {
    func maxDifference(_ a: Tensor, _ b: Tensor) -> Float { (a - b).abs().maxValue() }

    @Test func exponentialOfAPlaneGeneratorIsARotation() {
        for t: Float in [0, 0.3, 2.5, -7] {
            let r = LinearAlgebra.matrixExponential(Tensor([[0, -t], [t, 0]]))
            #expect(maxDifference(r, Tensor([[cos(t), -sin(t)], [sin(t), cos(t)]])) < 3e-6, "t = \(t)")
        }
    }

    @Test func exponentialOfADiagonalMatrixExponentiatesTheDiagonal() {
        let d: [Float] = [-2, 0, 0.5, 3]
        var values = [Float](repeating: 0, count: 16)
        for i in 0..<4 { values[i * 5] = d[i] }
        let e = LinearAlgebra.matrixExponential(Tensor(shape: [4, 4], values: values))
        for i in 0..<4 {
            #expect(abs(e[i, i] - Foundation.exp(d[i])) < 1e-5 * Foundation.exp(d[i]))
            for j in 0..<4 where j != i { #expect(e[i, j] == 0) }
        }
    }

    @Test func exponentialOfASkewMatrixIsOrthogonalAndInvertedByItsNegative() {
        var g = RandomGenerator(seed: 5)
        let w = Tensor.randomNormal([16, 16], std: 1.5, using: &g)
        let a = w - w.transposed()
        let q = LinearAlgebra.matrixExponential(a), qInverse = LinearAlgebra.matrixExponential(a * -1)
        #expect(maxDifference(q.transposed().matmul(q), Tensor.eye(16)) < 2e-5)
        #expect(maxDifference(q.matmul(qInverse), Tensor.eye(16)) < 2e-5)
        #expect(maxDifference(LinearAlgebra.matrixExponential(Tensor.zeros([3, 3])), Tensor.eye(3)) == 0)
    }

    @Test func householderProductMultipliesTheReflections() {
        // Two reflectors in R⁴, written out as explicit matrices.
        let v: [[Float]] = [[0, 0], [0.5, 0], [-1, 2], [0.25, -0.5]]
        let tau: [Float] = [0.8, 0.4]
        func reflection(_ j: Int) -> Tensor {
            var u = [Float](repeating: 0, count: 4)
            u[j] = 1
            for i in (j + 1)..<4 { u[i] = v[i][j] }
            let column = Tensor(shape: [4, 1], values: u)
            return Tensor.eye(4) - column.matmul(column.transposed()) * tau[j]
        }
        let expected = reflection(0).matmul(reflection(1)).narrowed(1, start: 0, length: 2).contiguous()
        let q = LinearAlgebra.householderProduct(Tensor(v), tau: tau)
        #expect(q.shape == [4, 2])
        #expect(maxDifference(q, expected) < 1e-6)
    }

    @Test func householderProductWithReflectionCoefficientsHasOrthonormalColumns() {
        var g = RandomGenerator(seed: 9)
        let v = Tensor.randomNormal([12, 5], using: &g)
        let values = v.scalars
        let tau = (0..<5).map { j -> Float in
            var s: Float = 1
            for i in (j + 1)..<12 { s += values[i * 5 + j] * values[i * 5 + j] }
            return 2 / s
        }
        let q = LinearAlgebra.householderProduct(v, tau: tau)
        #expect(maxDifference(q.transposed().matmul(q), Tensor.eye(5)) < 2e-6)
    }
}
