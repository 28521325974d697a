import Tensors

/// One tokenized document: its token ids and each token decoded on its own. The document's text
/// is the concatenation of the pieces, so a character offset in `text` falls in exactly one token.
public struct TokenDocument: Codable, Equatable, Sendable {
    /// Token ids, length T.
    public var ids: [Int]
    /// Token i decoded alone, length T.
    public var pieces: [String]

    public init(ids: [Int], pieces: [String]) {
        self.ids = ids
        self.pieces = pieces
    }

    /// The decoded text, `pieces.joined()`.
    public var text: String { pieces.joined() }
}

/// A token of a dataset: document index and position along T.
public struct TokenPosition: Hashable, Comparable, Codable, Sendable {
    /// Index into the dataset's documents.
    public var document: Int
    /// Position along the document's tokens.
    public var position: Int

    public init(document: Int, position: Int) {
        self.document = document
        self.position = position
    }

    public static func < (a: TokenPosition, b: TokenPosition) -> Bool {
        (a.document, a.position) < (b.document, b.position)
    }
}

/// The codes one codebook selected on every token of a dataset.
public struct CollectedCodebook: Sendable {
    /// The codebook's name ("L3.mlp", "L0.attn_preproj.g2").
    public var name: String
    /// Number of codes C.
    public var codeCount: Int
    /// Codes selected per token, k.
    public var k: Int
    /// Per document, the ids in row-major (T_d, k) order, slot 0 the most similar; −1 marks a
    /// blocked slot.
    public var ids: [[Int]]
    /// The code vectors (C, D), when known (needed by `similarCodes`).
    public var vectors: Tensor?

    public init(name: String, codeCount: Int, k: Int, ids: [[Int]], vectors: Tensor? = nil) {
        self.name = name
        self.codeCount = codeCount
        self.k = k
        self.ids = ids
        self.vectors = vectors
    }
}

/// Where one code fired: the token and the slot (0 = the code was the most similar one).
public struct CodeActivation: Equatable, Sendable {
    /// The token.
    public var token: TokenPosition
    /// The best slot the code held there (0 = the most similar code).
    public var slot: Int

    public init(token: TokenPosition, slot: Int) {
        self.token = token
        self.slot = slot
    }
}

/// A window of text around one activation of a code.
public struct CodeContext: Equatable, Sendable {
    /// The activating token.
    public var token: TokenPosition
    /// The best slot the code held there.
    public var slot: Int
    /// The `window` tokens before the activating token, decoded.
    public var before: String
    /// The activating token, decoded.
    public var piece: String
    /// The `window` tokens after it, decoded.
    public var after: String

    public init(token: TokenPosition, slot: Int, before: String, piece: String, after: String) {
        self.token = token
        self.slot = slot
        self.before = before
        self.piece = piece
        self.after = after
    }
}

/// Codes collected by running a model with codebooks over a token dataset: the documents, every
/// codebook's ids on every token, and optionally the activations the neuron baseline reads.
public struct CollectedCodes: Sendable {
    /// The tokenized documents, in order.
    public let documents: [TokenDocument]
    /// Every codebook's ids on every document.
    public let codebooks: [CollectedCodebook]
    /// Neuron activations by name, (N, width) each, rows in dataset order (document 0's tokens,
    /// then document 1's, …); used by `CodeSearch.bestNeuron`.
    public let neurons: [String: Tensor]

    /// Checks that every codebook has one (T_d · k) id list per document, ids in −1 ..< C, code
    /// vectors of C rows, and neuron tables of N rows; throws `inconsistentData` otherwise.
    public init(documents: [TokenDocument], codebooks: [CollectedCodebook], neurons: [String: Tensor] = [:]) throws {
        for (d, doc) in documents.enumerated() where doc.ids.count != doc.pieces.count {
            throw CodeAnalysisError.inconsistentData(field: "documents[\(d)]", reason: "has \(doc.ids.count) ids but \(doc.pieces.count) pieces")
        }
        for cb in codebooks {
            guard cb.codeCount > 0, cb.k > 0, cb.ids.count == documents.count else {
                throw CodeAnalysisError.inconsistentData(field: "codebook '\(cb.name)'",
                                                         reason: "has \(cb.ids.count) documents, \(cb.codeCount) codes, k = \(cb.k); expected \(documents.count) documents and positive sizes")
            }
            for (d, ids) in cb.ids.enumerated() {
                guard ids.count == documents[d].ids.count * cb.k, ids.allSatisfy({ $0 >= -1 && $0 < cb.codeCount }) else {
                    throw CodeAnalysisError.inconsistentData(field: "codebook '\(cb.name)' document \(d)",
                                                             reason: "has \(ids.count) ids; expected \(documents[d].ids.count) tokens × k = \(cb.k), each in -1..<\(cb.codeCount)")
                }
            }
            if let v = cb.vectors, v.rank != 2 || v.shape[0] != cb.codeCount {
                throw CodeAnalysisError.inconsistentData(field: "codebook '\(cb.name)' vectors", reason: "have shape \(v.shape); expected (\(cb.codeCount), D)")
            }
        }
        let n = documents.reduce(0) { $0 + $1.ids.count }
        for (name, t) in neurons where t.rank != 2 || t.shape[0] != n {
            throw CodeAnalysisError.inconsistentData(field: "neurons '\(name)'", reason: "have shape \(t.shape); expected (\(n), width)")
        }
        self.documents = documents
        self.codebooks = codebooks
        self.neurons = neurons
    }

    /// Tokens in the dataset, N.
    public var tokenCount: Int { documents.reduce(0) { $0 + $1.ids.count } }

    /// The codebook called `name`; throws `unknownCodebook` naming the collected ones.
    public func codebook(named name: String) throws -> CollectedCodebook {
        guard let cb = codebooks.first(where: { $0.name == name }) else {
            throw CodeAnalysisError.unknownCodebook(name: name, available: codebooks.map(\.name))
        }
        return cb
    }

    /// Per code c, the number of tokens on which c is among the selected codes (a token counts
    /// once even if c fills several slots). Length C.
    public func activationCounts(codebook name: String) throws -> [Int] {
        let cb = try codebook(named: name)
        var counts = [Int](repeating: 0, count: cb.codeCount)
        for ids in cb.ids { Self.forEachFiring(ids, k: cb.k) { _, code, _ in counts[code] += 1 } }
        return counts
    }

    /// Every token on which `code` fires, with its best slot, in dataset order; throws for a
    /// code out of range.
    public func activations(codebook name: String, code: Int) throws -> [CodeActivation] {
        let cb = try codebook(named: name)
        guard code >= 0 && code < cb.codeCount else { throw CodeAnalysisError.codeOutOfRange(codebook: name, code: code, codes: cb.codeCount) }
        var list: [CodeActivation] = []
        for (d, ids) in cb.ids.enumerated() {
            Self.forEachFiring(ids, k: cb.k) { t, c, slot in
                if c == code { list.append(CodeActivation(token: TokenPosition(document: d, position: t), slot: slot)) }
            }
        }
        return list
    }

    /// The top `limit` activations of `code` with `window` tokens of text either side: the
    /// activations where the code held the best slot first (slot 0 = the most similar code),
    /// ties in dataset order.
    public func topContexts(codebook name: String, code: Int, limit: Int = 10, window: Int = 8) throws -> [CodeContext] {
        guard limit >= 0 else { throw CodeAnalysisError.invalidOption(field: "limit", value: "\(limit)", allowed: "an integer ≥ 0") }
        guard window >= 0 else { throw CodeAnalysisError.invalidOption(field: "window", value: "\(window)", allowed: "an integer ≥ 0") }
        let ranked = try activations(codebook: name, code: code).enumerated()
            .sorted { ($0.element.slot, $0.offset) < ($1.element.slot, $1.offset) }.map(\.element)
        return ranked.prefix(limit).map { a in
            let pieces = documents[a.token.document].pieces, t = a.token.position
            return CodeContext(token: a.token, slot: a.slot, before: pieces[Swift.max(0, t - window) ..< t].joined(), piece: pieces[t],
                               after: pieces[(t + 1) ..< Swift.min(pieces.count, t + 1 + window)].joined())
        }
    }

    /// Calls `body(position, code, best slot)` once per distinct code fired at each token of one
    /// document's ids (T · k); blocked slots (−1) are skipped.
    static func forEachFiring(_ ids: [Int], k: Int, _ body: (Int, Int, Int) -> Void) {
        var t = 0
        while t * k < ids.count {
            for j in 0..<k {
                let c = ids[t * k + j]
                guard c >= 0 else { continue }
                if !(0..<j).contains(where: { ids[t * k + $0] == c }) { body(t, c, j) }
            }
            t += 1
        }
    }
}
