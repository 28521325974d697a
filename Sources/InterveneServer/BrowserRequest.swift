import Foundation

/// A request the browser refuses: an HTTP status in 400 ... 499 and a message for the page
/// that names the field, the bad value and what is allowed.
public struct PageError: Error, Equatable, CustomStringConvertible {
    /// 400 bad input, 404 no such page or index, 405 not a GET, 414 too long.
    public var status: Int
    public var message: String

    public var description: String { "\(status): \(message)" }

    static func badRequest(_ message: String) -> PageError { PageError(status: 400, message: message) }
    static func notFound(_ message: String) -> PageError { PageError(status: 404, message: message) }
}

/// A browser request reduced to what the pages read: the decoded path segments and the query
/// parameters, checked for size, traversal and duplicates before any page looks at them.
struct BrowserRequest: Sendable {
    /// Longest raw path and query accepted, in characters.
    static let maxPath = 1_024, maxQuery = 4_096
    /// Longest value of one query parameter, in characters: the limit of the live pages' prompt
    /// field and of a search's regular expression. (The HTTP parser lets requests heads of up to
    /// `BrowserServer.maxHeadBytes` through, so a longer query gets this page's message.)
    static let maxValue = 1_000

    let segments: [String]
    let query: [String: String]

    /// Splits and percent-decodes `path` (e.g. "/cache/0/latent/3") and `query` ("a=1&b=x+y").
    /// Refuses (status 414) a path over `maxPath` or a query over `maxQuery` characters, and
    /// (400) bad percent escapes, "." or ".." segments, an empty or repeated parameter name,
    /// and a value over `maxValue` characters.
    init(path: String, query rawQuery: String?) throws(PageError) {
        guard path.count <= Self.maxPath else {
            throw PageError(status: 414, message: "the path is \(path.count) characters long; allowed: at most \(Self.maxPath)")
        }
        let rawQuery = rawQuery ?? ""
        guard rawQuery.count <= Self.maxQuery else {
            let longest = rawQuery.split(separator: "&").max { $0.count < $1.count } ?? ""
            let name = longest.split(separator: "=", maxSplits: 1).first.map { String($0.prefix(40)) } ?? ""
            throw PageError(status: 414, message: "the query is \(rawQuery.count) characters long (its parameter '\(name)' alone \(longest.count)); allowed: at most \(Self.maxQuery) characters in all and \(Self.maxValue) per value, so a prompt or a regular expression has at most \(Self.maxValue) characters")
        }
        var segments: [String] = []
        for raw in path.split(separator: "/", omittingEmptySubsequences: true) {
            guard let segment = raw.removingPercentEncoding else {
                throw .badRequest("path segment '\(raw.prefix(80))' has a malformed percent escape")
            }
            guard segment != "..", segment != ".", !segment.contains("/"), !segment.contains("\\") else {
                throw .badRequest("path segment '\(segment.prefix(80))' is refused; allowed: no '.', '..' or slashes inside a segment")
            }
            segments.append(segment)
        }
        var query: [String: String] = [:]
        for pair in rawQuery.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) throws(PageError) -> String {
                guard let d = s.replacingOccurrences(of: "+", with: " ").removingPercentEncoding else {
                    throw .badRequest("query part '\(s.prefix(80))' has a malformed percent escape")
                }
                return d
            }
            let name = try decode(parts[0]), value = parts.count > 1 ? try decode(parts[1]) : ""
            guard !name.isEmpty else { throw .badRequest("a query parameter has an empty name") }
            guard query[name] == nil else { throw .badRequest("query parameter '\(name.prefix(80))' is given twice; allowed: once") }
            guard value.count <= Self.maxValue else {
                throw .badRequest("query parameter '\(name.prefix(80))' is \(value.count) characters long; allowed: at most \(Self.maxValue)")
            }
            query[name] = value
        }
        self.segments = segments
        self.query = query
    }

    /// Refuses any parameter not in `allowed`.
    func allowOnly(_ allowed: [String]) throws(PageError) {
        if let bad = query.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw .badRequest("unknown query parameter '\(bad.prefix(80))'; allowed: \(allowed.isEmpty ? "none" : allowed.joined(separator: ", "))")
        }
    }

    /// Parses a decimal index segment or value: digits only, in `range` (else 400 for a
    /// non-number, 404 for a number out of range when `missingIs404`).
    static func index(_ text: String, field: String, in range: Range<Int>, missingIs404: Bool = true) throws(PageError) -> Int {
        guard !text.isEmpty, text.count <= 100, text.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw .badRequest("\(field) is '\(text.prefix(80))'; allowed: an integer in \(describe(range))")
        }
        let value = Int(text) ?? Int.max  // more digits than an Int holds: out of range
        guard range.contains(value) else {
            let message = "\(field) \(value) is out of range; allowed: \(describe(range))"
            throw missingIs404 ? .notFound(message) : .badRequest(message)
        }
        return value
    }

    /// An integer query parameter in `range`, or `defaultValue` when absent.
    func integer(_ name: String, in range: ClosedRange<Int>, default defaultValue: Int) throws(PageError) -> Int {
        guard let text = query[name] else { return defaultValue }
        return try Self.index(text, field: name, in: range.lowerBound ..< range.upperBound + 1, missingIs404: false)
    }

    /// A decimal query parameter in `range`, or `defaultValue` when absent or empty.
    func decimal(_ name: String, in range: ClosedRange<Double>, default defaultValue: Double) throws(PageError) -> Double {
        guard let text = query[name], !text.isEmpty else { return defaultValue }
        guard text.count <= 24, let value = Double(text), value.isFinite, range.contains(value) else {
            throw .badRequest("\(name) is '\(text.prefix(80))'; allowed: a number in \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    /// A query parameter from a fixed set, or `defaultValue` when absent.
    func choice(_ name: String, among allowed: [String], default defaultValue: String) throws(PageError) -> String {
        guard let text = query[name] else { return defaultValue }
        guard allowed.contains(text) else {
            throw .badRequest("\(name) is '\(text.prefix(80))'; allowed: \(allowed.joined(separator: ", "))")
        }
        return text
    }

    static func describe(_ range: Range<Int>) -> String {
        range.isEmpty ? "none (there are none)" : "\(range.lowerBound)...\(range.upperBound - 1)"
    }
}
