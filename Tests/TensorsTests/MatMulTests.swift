import Testing
@testable import Tensors

/// Plain triple loop reference.
func naiveMatmul(_ a: Tensor, _ b: Tensor) -> Tensor {
    let m = a.shape[0], k = a.shape[1], n = b.shape[1]
    var out = [Float](repeating: 0, count: m * n)
    for i in 0..<m { for j in 0..<n { var s: Float = 0; for p in 0..<k { s += a[i, p] * b[p, j] }; out[i * n + j] = s } }
    return Tensor(shape: [m, n], values: out)
}

@Suite struct MatMulTests {
    @Test(arguments: [(1, 7, 5), (5, 7, 1), (4, 3, 6), (64, 64, 64), (1, 1, 1), (3, 0, 2)])
    func matchesNaiveProduct(m: Int, k: Int, n: Int) {
        let a = random([m, k], seed: 1), b = random([k, n], seed: 2)
        expectClose(a.matmul(b), naiveMatmul(a, b), atol: 1e-4)
        // Transposed views go through BLAS flags and agree.
        let at = random([k, m], seed: 3).transposed(), bt = random([n, k], seed: 4).transposed()
        expectClose(at.matmul(bt), naiveMatmul(at.contiguous(), bt.contiguous()), atol: 1e-4)
        expectClose(a.matmul(bt), naiveMatmul(a, bt.contiguous()), atol: 1e-4)
    }

    @Test func batchedAndBroadcast() {
        let a = random([2, 3, 4, 5], seed: 1), b = random([3, 5, 2], seed: 2)
        let c = a.matmul(b)
        #expect(c.shape == [2, 3, 4, 2])
        for i in 0..<2 { for j in 0..<3 {
            let ref = naiveMatmul(a.narrowed(0, start: i, length: 1).narrowed(1, start: j, length: 1).reshaped([4, 5]),
                                  b.narrowed(0, start: j, length: 1).reshaped([5, 2]))
            expectClose(c.narrowed(0, start: i, length: 1).narrowed(1, start: j, length: 1).reshaped([4, 2]), ref, atol: 1e-4)
        } }
        let w = random([5, 6], seed: 3)
        let folded = a.matmul(w)
        #expect(folded.shape == [2, 3, 4, 6])
        expectClose(folded.reshaped([24, 6]), naiveMatmul(a.reshaped([24, 5]), w), atol: 1e-4)
        #expect(Tensor([1, 2]).matmul(Tensor(shape: [2, 2], values: [1, 2, 3, 4])).scalars == [7, 10])
    }

    @Test func linearMatchesMatmulInBothLayouts() {
        let x = random([2, 3, 4], seed: 1), w = random([5, 4], seed: 2), b = random([5], seed: 3)
        expectClose(x.linear(weight: w, bias: b), x.matmul(w.transposed()) + b, atol: 1e-5)
        expectClose(x.linear(weight: w.transposed().contiguous(), bias: b, layout: .inputMajor), x.matmul(w.transposed()) + b, atol: 1e-5)
    }
}
