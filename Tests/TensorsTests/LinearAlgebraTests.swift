import Testing
@testable import Tensors

@Suite struct LinearAlgebraTests {
    func maxAbs(_ t: Tensor) -> Float { t.abs().maxValue() }

    @Test func qrReconstructsWithOrthonormalColumns() throws {
        let a = random([6, 4], seed: 1)
        let (q, r) = try LinearAlgebra.qr(a)
        #expect(maxAbs(q.matmul(r) - a) < 1e-5)
        #expect(maxAbs(q.transposed().matmul(q) - Tensor.eye(4)) < 1e-5)
        #expect(r[2, 1] == 0)
    }

    @Test func randomOrthogonalIsOrthogonalAndSeeded() {
        var g1 = RandomGenerator(seed: 3), g2 = RandomGenerator(seed: 3)
        let q = LinearAlgebra.randomOrthogonal(rows: 8, using: &g1)
        #expect(maxAbs(q.transposed().matmul(q) - Tensor.eye(8)) < 1e-5)
        #expect(q.scalars == LinearAlgebra.randomOrthogonal(rows: 8, using: &g2).scalars)
        let tall = LinearAlgebra.randomOrthogonal(rows: 8, columns: 3, using: &g1)
        #expect(tall.shape == [8, 3])
        #expect(maxAbs(tall.transposed().matmul(tall) - Tensor.eye(3)) < 1e-5)
    }

    @Test func svdReconstructs() throws {
        let a = random([5, 3], seed: 2)
        let (u, s, vt) = try LinearAlgebra.svd(a)
        #expect(s.scalars == s.scalars.sorted(by: >))
        let rebuilt = (u * s).matmul(vt)
        #expect(maxAbs(rebuilt - a) < 1e-5)
    }

    @Test func symmetricEigenDecomposes() throws {
        let b = random([4, 4], seed: 3)
        let a = b + b.transposed()
        let (values, vectors) = try LinearAlgebra.symmetricEigen(a)
        #expect(values.scalars == values.scalars.sorted())
        #expect(maxAbs(a.matmul(vectors) - vectors * values) < 1e-4)
    }

    @Test func solveSolves() throws {
        let a = random([4, 4], seed: 4) + Tensor.eye(4) * 3
        let x = random([4, 2], seed: 5)
        let b = a.matmul(x)
        #expect(maxAbs(try LinearAlgebra.solve(a, b) - x) < 1e-4)
        #expect(throws: LinearAlgebraError.self) { try LinearAlgebra.solve(Tensor.zeros([2, 2]), Tensor.ones([2])) }
    }

    @Test func cayleyIsOrthogonal() {
        let w = random([16, 16], seed: 6, scale: 2)
        let c = Cayley.transform(w)
        #expect(maxAbs(c.transposed().matmul(c) - Tensor.eye(16)) < 1e-4)
        #expect(maxAbs(Cayley.transform(Tensor.zeros([3, 3])) - Tensor.eye(3)) == 0)
    }
}
