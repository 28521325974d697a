import Tensors

/// The best single neuron for a pattern at a given recall: the paper's baseline for a code.
public struct NeuronBaseline: Equatable, Sendable, Codable {
    /// The neuron table (`CollectedCodes.neurons` key) and the neuron's index in it.
    public var table: String
    /// The neuron's column in that table.
    public var neuron: Int
    /// The neuron "fires" where its activation is ≥ this.
    public var threshold: Float
    /// Of the tokens where it fires, the fraction the pattern matches.
    public var precision: Double
    /// Of the matching tokens, the fraction where it fires (≥ the recall asked for; more with ties).
    public var recall: Double

    public init(table: String, neuron: Int, threshold: Float, precision: Double, recall: Double) {
        self.table = table
        self.neuron = neuron
        self.threshold = threshold
        self.precision = precision
        self.recall = recall
    }
}

/// A code and its cosine similarity to another code of the same codebook.
public struct SimilarCode: Equatable, Sendable, Codable {
    /// The other code's index.
    public var code: Int
    /// The cosine of the two code vectors.
    public var cosine: Float

    public init(code: Int, cosine: Float) {
        self.code = code
        self.cosine = cosine
    }
}

extension CodeSearch {
    /// The neuron with the best precision at recall `recall` for the tokens in `matched`. For
    /// each neuron (a column of a `data.neurons` table) the threshold is the r-th largest
    /// activation among the M matching tokens, r = ⌊recall · M⌋; the neuron fires on every
    /// token at or above it, and precision = (matching tokens at or above) / (all tokens at
    /// or above). Nil when there are no neuron tables or r = 0. Throws for recall outside 0 ... 1.
    public static func bestNeuron(_ data: CollectedCodes, matched: Set<TokenPosition>, recall: Double) throws -> NeuronBaseline? {
        guard recall >= 0 && recall <= 1 else { throw CodeAnalysisError.invalidOption(field: "recall", value: "\(recall)", allowed: "a number in 0...1") }
        var starts: [Int] = [], offset = 0
        for doc in data.documents { starts.append(offset); offset += doc.ids.count }
        let rows = matched.compactMap { p -> Int? in
            p.document < starts.count && p.position < data.documents[p.document].ids.count ? starts[p.document] + p.position : nil
        }
        let r = Int((recall * Double(rows.count) + 1e-9).rounded(.down))
        guard r > 0 else { return nil }
        var best: NeuronBaseline?
        for name in data.neurons.keys.sorted() {
            let table = data.neurons[name]!, width = table.shape[1], values = table.scalars
            for w in 0..<width {
                let inMatch = rows.map { values[$0 * width + w] }.sorted(by: >)
                let threshold = inMatch[r - 1]
                let matchedAbove = inMatch.prefix { $0 >= threshold }.count
                var allAbove = 0
                for n in 0..<table.shape[0] where values[n * width + w] >= threshold { allAbove += 1 }
                let precision = Double(matchedAbove) / Double(allAbove)
                if best.map({ precision > $0.precision }) ?? true {
                    best = NeuronBaseline(table: name, neuron: w, threshold: threshold, precision: precision,
                                          recall: Double(matchedAbove) / Double(rows.count))
                }
            }
        }
        return best
    }
}

extension CollectedCodes {
    /// The `limit` codes of the same codebook whose vectors are most similar to `code`'s by
    /// cosine, ⟨C[a], C[b]⟩ / (‖C[a]‖ ‖C[b]‖), best first, the code itself left out. Throws when
    /// the codebook has no vectors, or for a code out of range.
    public func similarCodes(codebook name: String, code: Int, limit: Int = 10) throws -> [SimilarCode] {
        let cb = try codebook(named: name)
        guard code >= 0 && code < cb.codeCount else { throw CodeAnalysisError.codeOutOfRange(codebook: name, code: code, codes: cb.codeCount) }
        guard limit >= 0 else { throw CodeAnalysisError.invalidOption(field: "limit", value: "\(limit)", allowed: "an integer ≥ 0") }
        guard let vectors = cb.vectors else {
            throw CodeAnalysisError.inconsistentData(field: "codebook '\(name)'", reason: "has no code vectors; similar codes need them")
        }
        let width = vectors.shape[1], v = vectors.scalars
        func dot(_ a: Int, _ b: Int) -> Float {
            var s: Float = 0
            for i in 0..<width { s += v[a * width + i] * v[b * width + i] }
            return s
        }
        let norms = (0..<cb.codeCount).map { dot($0, $0).squareRoot() }
        let list = (0..<cb.codeCount).filter { $0 != code }.map { c in
            SimilarCode(code: c, cosine: norms[c] > 0 && norms[code] > 0 ? dot(code, c) / (norms[c] * norms[code]) : 0)
        }
        return Array(list.sorted { $0.cosine != $1.cosine ? $0.cosine > $1.cosine : $0.code < $1.code }.prefix(limit))
    }
}
