import Tensors

/// The non-differentiable half of a codebook: scores, top-k selection under the per-call
/// options, and code patches. Rows are token vectors in row-major order of the activation's
/// leading dimensions (…, T); row n sits at position n mod T.
enum CodeSelection {
    /// Scores (N, C) of N normalised rows xn (N, D) against the codes C (C, D): ⟨xn, C[c]⟩/‖C[c]‖
    /// (optionally also /‖xn‖), or −‖xn − C[c]‖² for Euclidean (the square keeps the ranking).
    static func scores(_ xn: Tensor, codes: Tensor, similarity: CodebookSimilarity, cosine: Bool) -> [Float] {
        Tensor.withoutGradients {
            let xn = xn.detached(), codes = codes.detached()
            let dots = xn.matmul(codes.transposed())
            let codeNormsSquared = codes.square().sum(axis: 1)
            switch similarity {
            case .innerProduct:
                var s = dots / codeNormsSquared.sqrt()
                if cosine { s = s / xn.square().sum(axis: 1, keepDims: true).sqrt() }
                return s.scalars
            case .euclidean:
                let rowNormsSquared = xn.square().sum(axis: 1, keepDims: true)
                return (dots * 2 - rowNormsSquared - codeNormsSquared).scalars
            }
        }
    }

    /// The positions 0..<T that `tokens` names, as a mask; throws for a position out of range.
    static func positionMask(_ tokens: CodebookTokens, length: Int, field: String, codebook: String) throws -> [Bool] {
        guard case .positions(let list) = tokens else { return [Bool](repeating: true, count: length) }
        var mask = [Bool](repeating: false, count: length)
        for p in list {
            let q = p < 0 ? p + length : p
            guard q >= 0 && q < length else {
                throw CodebookError.invalidOption(codebook: codebook, field: field, value: "\(p)", allowed: "positions in -\(length)..<\(length)")
            }
            mask[q] = true
        }
        return mask
    }

    /// A slot index (negative counts from the end) checked against k.
    static func slot(_ s: Int, k: Int, field: String, codebook: String) throws -> Int {
        let q = s < 0 ? s + k : s
        guard q >= 0 && q < k else {
            throw CodebookError.invalidOption(codebook: codebook, field: field, value: "\(s)", allowed: "slots in -\(k)..<\(k)")
        }
        return q
    }

    /// The k ids of every row (N·k, slot 0 the most similar), −1 for a blocked slot, following
    /// `options` (see `CodebookCallOptions`).
    static func select(scores: [Float], rows: Int, codes: Int, k: Int, length: Int,
                       options: CodebookCallOptions, codebook: String) throws -> [Int] {
        for c in options.disabledCodes where c < 0 || c >= codes {
            throw CodebookError.disabledCodeOutOfRange(codebook: codebook, code: c, codes: codes)
        }
        let skip = options.disableTopK
        guard skip >= 0 && (options.keepK ? k + skip <= codes : true) else {
            throw CodebookError.invalidOption(codebook: codebook, field: "disableTopK", value: "\(skip)",
                                              allowed: "0...\(codes - k) (k + disableTopK must not exceed the \(codes) codes)")
        }
        let atTokens = try positionMask(options.tokens, length: length, field: "tokens", codebook: codebook)
        let blockedSlots = try options.disabledSlots.map { try slot($0, k: k, field: "disabledSlots", codebook: codebook) }
        let disabled = Set(options.disabledCodes)
        var ids = [Int](repeating: 0, count: rows * k)
        var row = [Float](repeating: 0, count: codes)
        for n in 0..<rows {
            let targeted = atTokens[n % length]
            for c in 0..<codes { row[c] = scores[n * codes + c] }
            if options.keepK {
                if targeted { for c in disabled { row[c] = -.infinity } }
                let order = row.withUnsafeBufferPointer { Tensor.largestIndices($0, k: k + skip) }
                let start = targeted ? skip : 0
                for j in 0..<k { ids[n * k + j] = order[start + j] }
            } else {
                let order = row.withUnsafeBufferPointer { Tensor.largestIndices($0, k: k) }
                for j in 0..<k {
                    let blocked = targeted && (j < skip || disabled.contains(order[j]))
                    ids[n * k + j] = blocked ? -1 : order[j]
                }
                for j in blockedSlots { ids[n * k + j] = -1 }
            }
        }
        return ids
    }

    /// Applies `patch` to ids (N·k) of rows at positions n mod T.
    static func apply(_ patch: CodePatch, to ids: inout [Int], rows: Int, k: Int, length: Int, codes: Int, codebook: String) throws {
        guard patch.code >= -1 && patch.code < codes else {
            throw CodebookError.codeOutOfRange(codebook: codebook, code: patch.code, codes: codes)
        }
        let at = try positionMask(patch.positions.map { .positions($0) } ?? .all, length: length, field: "patch positions", codebook: codebook)
        let slots = try patch.slot.map { [try slot($0, k: k, field: "patch slot", codebook: codebook)] } ?? Array(0..<k)
        for n in 0..<rows where at[n % length] {
            for j in slots { ids[n * k + j] = patch.code }
        }
    }
}
