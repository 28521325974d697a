import Testing
@testable import Tensors

/// Random quantized matrices for the kernel tests: random block bytes with the fp16 scales set
/// to modest values (random bytes there could be infinities or NaNs).
enum RandomBlocks {
    /// Byte offsets of the fp16 scale fields inside one block of `type`.
    static func scaleOffsets(_ type: GGMLType) -> [Int] {
        switch type {
        case .q4_0, .q5_0, .q8_0: return [0]
        case .q4_1, .q5_1, .q4_K, .q5_K: return [0, 2]
        case .q2_K: return [80, 82]
        case .q3_K: return [108]
        case .q6_K: return [208]
        default: return []
        }
    }

    static func matrix(_ type: GGMLType, rows: Int, blocksPerRow: Int, seed: UInt64) throws -> QuantizedMatrix {
        var g = RandomGenerator(seed: seed)
        let blocks = rows * blocksPerRow
        var bytes = (0..<(blocks * type.blockBytes)).map { _ in UInt8(truncatingIfNeeded: g.next()) }
        for b in 0..<blocks {
            for (k, offset) in scaleOffsets(type).enumerated() {
                let magnitude = 0.002 + 0.03 * g.nextUniform()
                let value = Float16(k == 0 ? magnitude : (g.nextUniform() < 0.5 ? -magnitude : magnitude))
                bytes[b * type.blockBytes + offset] = UInt8(value.bitPattern & 0xff)
                bytes[b * type.blockBytes + offset + 1] = UInt8(value.bitPattern >> 8)
            }
        }
        return try bytes.withUnsafeBytes {
            try QuantizedMatrix(type: type, rows: rows, columns: blocksPerRow * type.blockElements, bytes: $0)
        }
    }
}

/// Asserts |a − b| ≤ γ · bound + 1e-6 elementwise, where bound = |x| |W|ᵀ is Σ|x_i||w_oi| and
/// γ = 2·in·2⁻²⁴ covers two float32 sums of `in` terms in different orders (the weights are
/// bit-identical, so summation order is the only difference).
func expectSameUpToSummation(_ a: Tensor, _ b: Tensor, bound: Tensor, terms: Int, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(a.shape == b.shape, sourceLocation: sourceLocation)
    let gamma = 2 * Float(terms) * Float.ulpOfOne / 2
    let x = a.scalars, y = b.scalars, s = bound.scalars
    let bad = (0..<x.count).first { abs(x[$0] - y[$0]) > gamma * s[$0] + 1e-6 }
    #expect(bad == nil, "element \(bad ?? -1): \(bad.map { x[$0] } ?? 0) vs \(bad.map { y[$0] } ?? 0)", sourceLocation: sourceLocation)
}

@Suite struct QuantizedMatrixTests {
    static let types = QuantizedMatrix.supportedTypes

    @Test(arguments: types) func dequantizedEqualsTheDequantizerBitForBit(type: GGMLType) throws {
        let q = try RandomBlocks.matrix(type, rows: 5, blocksPerRow: 3, seed: 11)
        let bytes = Array(UnsafeRawBufferPointer(start: q.base, count: q.byteCount))
        let reference = try type.dequantize(bytes, shape: q.shape)
        #expect(q.dequantized().scalars == reference.scalars)
        let finite = q.dequantized().scalars.allSatisfy { $0.isFinite }
        #expect(finite)
    }

    @Test(arguments: types) func productsMatchDequantizeThenSgemm(type: GGMLType) throws {
        let q = try RandomBlocks.matrix(type, rows: 7, blocksPerRow: 2, seed: 3)
        let w = q.dequantized(), bias = random([7], seed: 5)
        for shape in [[1, q.columns], [3, q.columns], [11, q.columns], [2, 5, q.columns]] {
            let x = random(shape, seed: UInt64(shape.reduce(0, +)))
            let bound = x.abs().linear(weight: w.abs()) + bias.abs()
            expectSameUpToSummation(x.linear(quantized: q, bias: bias), x.linear(weight: w, bias: bias), bound: bound, terms: q.columns)
            expectSameUpToSummation(x.linear(quantized: q), x.linear(weight: w), bound: bound, terms: q.columns)
        }
    }

    /// Both kernels on the same input: the fused one (x rows in groups of 8) and the tiled one
    /// (several 1 MiB tiles of weight rows and more than one core's share of rows).
    @Test(arguments: [GGMLType.q8_0, .q4_0, .q4_1, .q4_K]) func fusedAndTiledKernelsAgree(type: GGMLType) throws {
        let q = try RandomBlocks.matrix(type, rows: 1031, blocksPerRow: 512 / type.blockElements, seed: 9)
        let w = q.dequantized()
        for rows in [1, 2, 9, 13] {
            let x = random([rows, q.columns], seed: UInt64(rows))
            let reference = x.linear(weight: w), bound = x.abs().linear(weight: w.abs())
            for kernel in [QuantizedProduct.fused, QuantizedProduct.tiled] {
                let y = Tensor(uninitializedShape: [rows, q.rows])
                x.withUnsafeElements { kernel($0.baseAddress!, rows, q, nil, y.storage.pointer) }
                expectSameUpToSummation(y, reference, bound: bound, terms: q.columns)
            }
        }
    }

    @Test(arguments: [GGMLType.q8_0, .q4_0, .q4_1, .q4_K]) func inputGradientMatchesTheDequantizedLayer(type: GGMLType) throws {
        let q = try RandomBlocks.matrix(type, rows: 9, blocksPerRow: 2, seed: 4)
        let w = q.dequantized()
        for rows in [1, 6] {
            let seed = random([rows, q.rows], seed: 8)
            var x = random([rows, q.columns], seed: 2)
            x.requiresGrad = true
            var b = random([q.rows], seed: 6)
            b.requiresGrad = true
            (x.linear(quantized: q, bias: b) * seed).sum().backward()
            var xr = x.detached(), br = b.detached()
            xr.requiresGrad = true
            br.requiresGrad = true
            (xr.linear(weight: w, bias: br) * seed).sum().backward()
            let bound = seed.abs().matmul(w.abs())
            expectSameUpToSummation(x.grad!, xr.grad!, bound: bound, terms: q.rows)
            expectClose(b.grad!, br.grad!, atol: 1e-6, rtol: 1e-6)
        }
    }

    @Test func inputGradientPassesTheFiniteDifferenceCheck() throws {
        let q = try RandomBlocks.matrix(.q4_1, rows: 5, blocksPerRow: 1, seed: 12)
        checkGradients([random([3, 32], seed: 1), random([5], seed: 2)]) { $0[0].linear(quantized: q, bias: $0[1]) }
        checkGradients([random([1, 32], seed: 3)]) { $0[0].linear(quantized: q) }
    }

    @Test(arguments: [GGMLType.q8_0, .q4_1, .q6_K]) func embeddingRowsEqualTheDequantizedTable(type: GGMLType) throws {
        let q = try RandomBlocks.matrix(type, rows: 6, blocksPerRow: 1, seed: 13)
        let ids = IndexTensor(shape: [2, 3], values: [5, 0, 3, 3, 1, 4])
        #expect(Tensor.embedding(quantized: q, ids: ids).scalars == Tensor.embedding(q.dequantized(), ids: ids).scalars)
    }

    @Test func permutingRowsMovesWholeRows() throws {
        let q = try RandomBlocks.matrix(.q4_K, rows: 4, blocksPerRow: 1, seed: 14)
        let p = q.permutingRows([2, 0, 3, 1]), w = q.dequantized()
        #expect(p.dequantized().scalars == Tensor.stack([2, 0, 3, 1].map { w.narrowed(0, start: $0, length: 1).squeezed(0) }, axis: 0).scalars)
    }

    @Test func malformedMatricesThrowTypedErrors() throws {
        let bytes = [UInt8](repeating: 0, count: 40)
        bytes.withUnsafeBytes { raw in
            #expect(throws: QuantizedWeightError.unsupportedType(tensor: "w", type: .f32)) {
                try QuantizedMatrix(type: .f32, rows: 2, columns: 5, bytes: raw, name: "w")
            }
            #expect(throws: QuantizedWeightError.partialBlock(tensor: "w", columns: 48, blockElements: 32)) {
                try QuantizedMatrix(type: .q4_1, rows: 1, columns: 48, bytes: raw, name: "w")
            }
            #expect(throws: QuantizedWeightError.byteCountMismatch(tensor: "w", expected: 60, actual: 40)) {
                try QuantizedMatrix(type: .q4_1, rows: 3, columns: 32, bytes: raw, name: "w")
            }
        }
        #expect(QuantizedWeightError.notTrainable(parameter: "lm_head.weight").description.contains("dequantize"))
    }

    @Test func quantizedParametersStayFrozenAndDecodeOnRead() throws {
        let q = try RandomBlocks.matrix(.q8_0, rows: 3, blocksPerRow: 1, seed: 15)
        let p = Parameter(Tensor.zeros([3, 32]), trainable: false)
        p.assign(quantized: q)
        #expect(p.shape == [3, 32] && !p.isTrainable && p.quantized != nil)
        #expect(p.value.scalars == q.dequantized().scalars)
        #expect(throws: QuantizedWeightError.notTrainable(parameter: "w")) { try p.setTrainable(true, name: "w") }
        try p.setTrainable(false)
        p.assign(Tensor.ones([3, 32]))
        #expect(p.quantized == nil && p.value.scalars == [Float](repeating: 1, count: 96))
        try p.setTrainable(true)
        #expect(p.isTrainable)
    }
}
