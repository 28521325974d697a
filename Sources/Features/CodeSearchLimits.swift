import Foundation

/// Bounds on the work one code search may do with a pattern typed by a user (the browser's
/// search box): ICU's regular expressions backtrack, so a pattern such as `(a+)+$` on a long run
/// of a's takes time exponential in the run's length.
public struct CodeSearchLimits: Equatable, Sendable {
    /// Longest pattern accepted, in characters.
    public var maxPatternLength: Int
    /// Wall-clock time the matching may take, in seconds: checked before each document and, via
    /// ICU's match callback, during a long match; past it the search stops with
    /// `CodeAnalysisError.searchStopped`.
    public var timeLimit: Double
    /// Refuse patterns with a repeated group that itself holds an unbounded quantifier
    /// (`(a+)+`, `(\w*)*`, `(x+y?){2,}`), the usual cause of catastrophic backtracking.
    public var refuseNestedQuantifiers: Bool

    public init(maxPatternLength: Int = 1_000, timeLimit: Double = 2, refuseNestedQuantifiers: Bool = true) {
        self.maxPatternLength = maxPatternLength
        self.timeLimit = timeLimit
        self.refuseNestedQuantifiers = refuseNestedQuantifiers
    }

    /// The browser's bounds: 1,000 characters, 2 s, nested quantifiers refused.
    public static let interactive = CodeSearchLimits()

    /// Throws `invalidRegex` for a pattern that is empty, too long or (when refused) has a
    /// nested quantifier, naming the construct.
    public func check(_ pattern: String) throws {
        guard !pattern.isEmpty, pattern.count <= maxPatternLength else {
            throw CodeAnalysisError.invalidRegex(pattern: String(pattern.prefix(80)),
                                                 reason: "it has \(pattern.count) characters; at most \(maxPatternLength) are searched")
        }
        if refuseNestedQuantifiers, let construct = Self.nestedQuantifier(in: pattern) {
            throw CodeAnalysisError.invalidRegex(pattern: pattern,
                                                 reason: "the repeated group '\(construct)' holds another unbounded quantifier, which can take exponential time; write it without nesting, e.g. 'a+' for '(a+)+'")
        }
    }

    /// The first group (text from its "(" to its quantifier) that is repeated a variable number
    /// of times — `*`, `+`, `{n,}` or `{n,m}` with m > n — while holding such a quantifier
    /// itself, or nil. Escapes (`\+`) and character classes (`[+*]`) are skipped.
    static func nestedQuantifier(in pattern: String) -> String? {
        let chars = Array(pattern)
        var open: [(start: Int, repeats: Bool)] = []  // per open group: where it starts, whether it holds a repeat
        var i = 0
        /// Whether a repeating quantifier starts at j, and where it ends.
        func repeatingQuantifier(at j: Int) -> Int? {
            guard j < chars.count else { return nil }
            if chars[j] == "*" || chars[j] == "+" { return j + 1 }
            guard chars[j] == "{", let close = chars[j...].firstIndex(of: "}") else { return nil }
            let bounds = String(chars[(j + 1)..<close]).split(separator: ",", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count), bounds.allSatisfy({ $0.allSatisfy(\.isNumber) }), !bounds[0].isEmpty else { return nil }
            guard bounds.count == 2 else { return nil }  // {n}: a fixed count
            return bounds[1].isEmpty || (Int(bounds[1]) ?? 0) > (Int(bounds[0]) ?? 0) ? close + 1 : nil
        }
        while i < chars.count {
            switch chars[i] {
            case "\\": i += 2; continue
            case "[":
                var j = i + 1
                if j < chars.count && chars[j] == "^" { j += 1 }
                if j < chars.count && chars[j] == "]" { j += 1 }
                while j < chars.count && chars[j] != "]" { j += chars[j] == "\\" ? 2 : 1 }
                i = j + 1
                if let end = repeatingQuantifier(at: i), !open.isEmpty { open[open.count - 1].repeats = true; i = end }
                continue
            case "(": open.append((start: i, repeats: false))
            case ")":
                guard let group = open.popLast() else { break }
                if let end = repeatingQuantifier(at: i + 1) {
                    if group.repeats { return String(chars[group.start..<end]) }
                    if !open.isEmpty { open[open.count - 1].repeats = true }
                    i = end
                    continue
                } else if group.repeats, !open.isEmpty {
                    open[open.count - 1].repeats = true
                }
            default:
                if let end = repeatingQuantifier(at: i), !open.isEmpty {
                    open[open.count - 1].repeats = true
                    i = end
                    continue
                }
            }
            i += 1
        }
        return nil
    }
}

extension CodeSearch {
    /// `matchingTokens(_:in:)` under `limits` (nil: unbounded): the pattern is checked first
    /// (`CodeSearchLimits.check`), then matched document by document until the time limit,
    /// when it throws `searchStopped` saying how far it got.
    public static func matchingTokens(_ pattern: String, in documents: [TokenDocument], limits: CodeSearchLimits?) throws -> Set<TokenPosition> {
        try limits?.check(pattern)
        let regex = try compile(pattern)
        let group = regex.numberOfCaptureGroups > 0 ? 1 : 0
        let started = Date()
        let deadline = limits.map { started.addingTimeInterval($0.timeLimit) }
        var found = Set<TokenPosition>()
        for (d, doc) in documents.enumerated() {
            var stopped = deadline.map { Date() >= $0 } ?? false
            if !stopped {
                var ends: [Int] = [], offset = 0
                for piece in doc.pieces { offset += piece.utf16.count; ends.append(offset) }
                let text = doc.text
                regex.enumerateMatches(in: text, options: deadline == nil ? [] : [.reportProgress],
                                       range: NSRange(location: 0, length: (text as NSString).length)) { match, _, stop in
                    if let deadline, Date() >= deadline {
                        stopped = true
                        stop.pointee = true
                        return
                    }
                    guard let range = match?.range(at: group), range.location != NSNotFound, range.length > 0 else { return }
                    if let t = firstIndex(in: ends, above: range.location) { found.insert(TokenPosition(document: d, position: t)) }
                }
            }
            if stopped {
                throw CodeAnalysisError.searchStopped(pattern: pattern, milliseconds: Int(Date().timeIntervalSince(started) * 1000),
                                                      documentsSearched: d, documents: documents.count)
            }
        }
        return found
    }
}
