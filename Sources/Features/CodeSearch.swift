import Foundation
import Tensors

/// One code found by a regular-expression search, with the Codebook Features paper's measures.
/// With M = the tokens the pattern matches and A = the tokens on which the code fires:
/// precision = |A ∩ M| / |A|, recall = |A ∩ M| / |M|.
public struct CodeMatch: Equatable, Sendable, Codable {
    /// The codebook's name.
    public var codebook: String
    /// The code index.
    public var code: Int
    /// |A ∩ M| / |A|.
    public var precision: Double
    /// |A ∩ M| / |M|.
    public var recall: Double
    /// |A|: tokens on which the code fires anywhere in the dataset.
    public var activations: Int
    /// |A ∩ M|: of those, tokens the pattern matches.
    public var matchedActivations: Int

    public init(codebook: String, code: Int, precision: Double, recall: Double, activations: Int, matchedActivations: Int) {
        self.codebook = codebook
        self.code = code
        self.precision = precision
        self.recall = recall
        self.activations = activations
        self.matchedActivations = matchedActivations
    }
}

/// How a search filters and orders its results.
public struct CodeSearchOptions: Equatable, Sendable {
    /// The order of `CodeSearchResult.matches`, best first.
    public enum Sort: String, CaseIterable, Sendable {
        /// Precision, then recall.
        case precision
        /// Recall, then precision.
        case recall
        /// Matched activations, then precision.
        case count
    }

    /// Keep codes with precision ≥ this (0 ... 1).
    public var minPrecision: Double
    /// Keep codes with recall ≥ this (0 ... 1).
    public var minRecall: Double
    /// The order of the results.
    public var sort: Sort
    /// Keep at most this many codes per search (nil: all).
    public var limit: Int?
    /// Search only these codebooks (nil: all).
    public var codebooks: [String]?

    public init(minPrecision: Double = 0, minRecall: Double = 0, sort: Sort = .precision, limit: Int? = nil, codebooks: [String]? = nil) {
        self.minPrecision = minPrecision
        self.minRecall = minRecall
        self.sort = sort
        self.limit = limit
        self.codebooks = codebooks
    }

    /// Throws `invalidOption` for a threshold outside 0 ... 1 or a negative limit.
    public func validate() throws {
        for (field, v) in [("minPrecision", minPrecision), ("minRecall", minRecall)] where !(v >= 0 && v <= 1) {
            throw CodeAnalysisError.invalidOption(field: field, value: "\(v)", allowed: "a number in 0...1")
        }
        if let limit, limit < 0 { throw CodeAnalysisError.invalidOption(field: "limit", value: "\(limit)", allowed: "an integer ≥ 0") }
    }
}

/// The outcome of `CodeSearch.search`.
public struct CodeSearchResult: Equatable, Sendable {
    /// The regular expression searched for.
    public var pattern: String
    /// |M|: tokens the pattern matches.
    public var matchedTokens: Int
    /// The codes that fire on at least one matching token and pass the thresholds, best first.
    public var matches: [CodeMatch]
}

/// Code search over collected codes (Tamkin, Taufeeque and Goodman 2023, section 4): which codes
/// fire on the tokens a regular expression picks out of the decoded text.
///
/// Differences from codebook-features' `code_search_utils`: a code fires on a token when it
/// fills any of the k slots and counts once per token (the reference counts a code in two slots
/// of one matching token twice in its recall numerator); results are filtered by
/// `minPrecision`/`minRecall` (inclusive) and one global `limit` instead of a fixed recall > 0.01,
/// precision > threshold and top 5 per codebook.
public enum CodeSearch {
    /// The tokens a pattern matches. The pattern runs over each document's decoded text
    /// (`TokenDocument.text`); each non-empty match picks the token holding its first character
    /// (with a capture group, the first character of group 1, so `the (cat)` picks "cat"
    /// tokens). A token is counted once however many matches start in it. Throws
    /// `invalidRegex` for a pattern that does not compile.
    public static func matchingTokens(_ pattern: String, in documents: [TokenDocument]) throws -> Set<TokenPosition> {
        try matchingTokens(pattern, in: documents, limits: nil)
    }

    /// `pattern` compiled, or `invalidRegex` with the parser's reason.
    static func compile(_ pattern: String) throws -> NSRegularExpression {
        do { return try NSRegularExpression(pattern: pattern) } catch {
            // Foundation's message is generic; Swift's regex parser says what is wrong.
            var reason = "it does not compile"
            do { _ = try Regex(pattern) } catch let parseError { reason = "\(parseError)" }
            throw CodeAnalysisError.invalidRegex(pattern: pattern, reason: reason)
        }
    }

    /// The first index i with ends[i] > offset (binary search over increasing ends).
    static func firstIndex(in ends: [Int], above offset: Int) -> Int? {
        var lo = 0, hi = ends.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if ends[mid] > offset { hi = mid } else { lo = mid + 1 }
        }
        return lo < ends.count ? lo : nil
    }

    /// Precision and recall of every code of every codebook against `pattern`, filtered and
    /// sorted by `options`. Codes that never fire on a matching token are left out.
    public static func search(_ data: CollectedCodes, pattern: String, options: CodeSearchOptions = CodeSearchOptions()) throws -> CodeSearchResult {
        try search(data, matched: try matchingTokens(pattern, in: data.documents), pattern: pattern, options: options)
    }

    /// The same over tokens already matched (`matchingTokens`), so a caller that also needs the
    /// matched set (e.g. for the neuron baseline) runs the pattern once.
    public static func search(_ data: CollectedCodes, matched: Set<TokenPosition>, pattern: String,
                              options: CodeSearchOptions = CodeSearchOptions()) throws -> CodeSearchResult {
        try options.validate()
        let names = options.codebooks ?? data.codebooks.map(\.name)
        var matches: [CodeMatch] = []
        for name in names {
            let cb = try data.codebook(named: name)
            let counts = try data.activationCounts(codebook: name)
            var hits = [Int](repeating: 0, count: cb.codeCount)
            for (d, ids) in cb.ids.enumerated() {
                CollectedCodes.forEachFiring(ids, k: cb.k) { t, c, _ in
                    if matched.contains(TokenPosition(document: d, position: t)) { hits[c] += 1 }
                }
            }
            for c in 0..<cb.codeCount where hits[c] > 0 {
                let m = CodeMatch(codebook: name, code: c, precision: Double(hits[c]) / Double(counts[c]),
                                  recall: Double(hits[c]) / Double(matched.count), activations: counts[c], matchedActivations: hits[c])
                if m.precision >= options.minPrecision && m.recall >= options.minRecall { matches.append(m) }
            }
        }
        return CodeSearchResult(pattern: pattern, matchedTokens: matched.count, matches: ordered(matches, by: options))
    }

    /// `matches` in the order of `options.sort`, best first (ties by codebook, then code), cut to
    /// `options.limit`.
    static func ordered(_ matches: [CodeMatch], by options: CodeSearchOptions) -> [CodeMatch] {
        let sorted = matches.sorted { a, b in
            let keyA: (Double, Double), keyB: (Double, Double)
            switch options.sort {
            case .precision: (keyA, keyB) = ((a.precision, a.recall), (b.precision, b.recall))
            case .recall: (keyA, keyB) = ((a.recall, a.precision), (b.recall, b.precision))
            case .count: (keyA, keyB) = ((Double(a.matchedActivations), a.precision), (Double(b.matchedActivations), b.precision))
            }
            return keyA != keyB ? keyA > keyB : (a.codebook, a.code) < (b.codebook, b.code)
        }
        return options.limit.map { Array(sorted.prefix($0)) } ?? sorted
    }
}
