extension CodeSearch {
    /// Topic codes of one document (the codebook-features webapp's "topic codes"): the codes
    /// that fire on at least a fraction of the document's tokens. It is the code search with M =
    /// every token of document `document` instead of a pattern's matches, so with A = the tokens
    /// on which a code fires anywhere in the dataset:
    ///
    ///     recall    = |A ∩ M| / |M|   the fraction of the document's tokens the code covers
    ///     precision = |A ∩ M| / |A|   the share of the code's activations inside this document
    ///
    /// and `options.minRecall` is the fraction asked for (`minPrecision`, `sort`, `limit` and
    /// `codebooks` as in `search`). Only the document's own ids are read; `activationCounts`
    /// (per codebook of `data`, in order, as `CollectedCodes.activationCounts` gives them) saves
    /// counting the dataset again. Throws `invalidOption` for a document out of range or counts
    /// of the wrong shape, and the option and codebook errors of `search`.
    public static func topicCodes(_ data: CollectedCodes, document: Int, options: CodeSearchOptions,
                                  activationCounts: [[Int]]? = nil) throws -> [CodeMatch] {
        try options.validate()
        guard document >= 0 && document < data.documents.count else {
            throw CodeAnalysisError.invalidOption(field: "document", value: "\(document)", allowed: "0..<\(data.documents.count)")
        }
        if let activationCounts, activationCounts.count != data.codebooks.count
            || zip(activationCounts, data.codebooks).contains(where: { $0.count != $1.codeCount }) {
            throw CodeAnalysisError.invalidOption(field: "activationCounts", value: "\(activationCounts.count) lists",
                                                  allowed: "one list of C counts per codebook, in the data's order")
        }
        let tokens = data.documents[document].ids.count
        var matches: [CodeMatch] = []
        for name in options.codebooks ?? data.codebooks.map(\.name) {
            let cb = try data.codebook(named: name)
            let index = data.codebooks.firstIndex { $0.name == name }!
            let counts = try activationCounts?[index] ?? data.activationCounts(codebook: name)
            var hits: [Int: Int] = [:]
            CollectedCodes.forEachFiring(cb.ids[document], k: cb.k) { _, c, _ in hits[c, default: 0] += 1 }
            for (c, n) in hits {
                let m = CodeMatch(codebook: name, code: c, precision: Double(n) / Double(counts[c]), recall: Double(n) / Double(tokens),
                                  activations: counts[c], matchedActivations: n)
                if m.precision >= options.minPrecision && m.recall >= options.minRecall { matches.append(m) }
            }
        }
        return ordered(matches, by: options)
    }
}
