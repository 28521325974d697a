import CKernels

/// Dequantization of ggml blocks to Float32, with the arithmetic of gguf-py's
/// `quants.dequantize` (fp16 scales widened exactly, every product and sum rounded to float32
/// in the reference's order), so results match transformers' GGUF loader bit for bit.
///
/// Block layouts (all little-endian, `d`/`m`/`dmin` fp16, blocks along ne[0]):
/// - Q8_0 (32 / 34 B): `d, qs[32] int8`; `x = qs·d`.
/// - Q4_0 (32 / 18 B): `d, qs[16]`; low nibbles are elements 0–15, high 16–31; `x = d·(q − 8)`.
/// - Q4_1 (32 / 20 B): `d, m, qs[16]`; `x = d·q + m`.
/// - Q5_0 / Q5_1 (32 / 22, 24 B): as Q4_0 / Q4_1 plus `qh` (u32), bit j the fifth bit of
///   element j; `x = d·(q − 16)` and `x = d·q + m`.
/// - Q2_K (256 / 84 B): 16 groups of 16, 4-bit scale and min per group; `x = (d·sc)·q − dmin·m`.
/// - Q3_K (256 / 110 B): 2 low bits + a high-mask bit, 16 six-bit scales; `x = (d·(sc − 32))·q`.
/// - Q4_K / Q5_K (256 / 144, 176 B): 8 groups of 32, six-bit scales and mins; `x = (d·sc)·q − dmin·m`.
/// - Q6_K (256 / 210 B): 4 + 2 bits, int8 scale per 16; `x = (d·sc)·(q − 32)`.
/// - F32, F16, BF16: one element per block.
extension GGMLType {
    /// Dequantizes `raw` (consecutive blocks as stored in GGUF tensor data) into `out`, whose
    /// count is the number of elements. Large inputs are split across cores. Throws
    /// `cannotDequantize` for types outside `dequantizable` and `byteCountMismatch` when `raw`
    /// does not hold exactly `out.count` elements.
    public func dequantize(_ raw: UnsafeRawBufferPointer, into out: UnsafeMutableBufferPointer<Float>) throws {
        guard canDequantize else { throw GGUFError(path: nil, .cannotDequantize(tensor: nil, type: self)) }
        let expected = byteCount(elements: out.count)
        guard let expected, expected == raw.count else {
            throw GGUFError(path: nil, .byteCountMismatch(type: self, elements: out.count, expectedBytes: expected, actualBytes: raw.count))
        }
        guard let source = raw.baseAddress, let destination = out.baseAddress, !out.isEmpty else { return }
        let blocks = out.count / blockElements
        let (elements, bytes, id) = (blockElements, blockBytes, rawValue)
        let src = source.assumingMemoryBound(to: UInt8.self)
        Parallel.forRanges(blocks, grain: Swift.max(1, 65_536 / elements), alignment: 1) { range in
            _ = ik_dequantize(id, src + range.lowerBound * bytes, destination + range.lowerBound * elements, range.count)
        }
    }

    /// Dequantizes `raw` into a row-major tensor of `shape` (the product of `shape` is the
    /// element count; its last dimension runs along the blocks). A shape with a negative or
    /// overflowing element count throws `byteCountMismatch`.
    public func dequantize(_ raw: [UInt8], shape: [Int]) throws -> Tensor {
        var count = 1
        for d in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            guard d >= 0, !overflow else {
                throw GGUFError(path: nil, .byteCountMismatch(type: self, elements: -1, expectedBytes: nil, actualBytes: raw.count))
            }
            count = product
        }
        let out = Tensor(uninitializedShape: shape)
        try raw.withUnsafeBytes { bytes in
            try dequantize(bytes, into: UnsafeMutableBufferPointer(start: out.storage.pointer, count: out.count))
        }
        return out
    }
}
