/// A code-analysis input that does not fit: a regular expression, a code, a codebook name, an
/// option, or a cache folder. Every message names the field, the bad value and what is allowed.
public enum CodeAnalysisError: Error, CustomStringConvertible, Equatable {
    /// The pattern is not a valid regular expression.
    case invalidRegex(pattern: String, reason: String)
    /// A code index outside `0 ..< codes` of the codebook.
    case codeOutOfRange(codebook: String, code: Int, codes: Int)
    /// No codebook of that name was collected.
    case unknownCodebook(name: String, available: [String])
    /// An option outside its domain (a threshold, a limit, a window).
    case invalidOption(field: String, value: String, allowed: String)
    /// Collected data whose parts disagree (token counts, code widths).
    case inconsistentData(field: String, reason: String)
    /// A bounded search (`CodeSearchLimits`) ran out of time after `milliseconds`, having
    /// searched `documentsSearched` of `documents` documents.
    case searchStopped(pattern: String, milliseconds: Int, documentsSearched: Int, documents: Int)
    /// A cache folder that cannot be read: the file, the field, what was found and what was expected.
    case invalidCache(path: String, field: String, found: String, expected: String)

    public var description: String {
        switch self {
        case .invalidRegex(let pattern, let reason):
            return "--regex '\(pattern)' is not a valid regular expression (\(reason)); allowed: an ICU regular expression"
        case .codeOutOfRange(let codebook, let code, let codes):
            return "codebook '\(codebook)': code \(code) is out of range; allowed: 0..<\(codes)"
        case .unknownCodebook(let name, let available):
            return "no codebook named '\(name)'; allowed: \(available.joined(separator: ", "))"
        case .invalidOption(let field, let value, let allowed):
            return "\(field) is \(value); allowed: \(allowed)"
        case .inconsistentData(let field, let reason):
            return "collected codes: \(field) \(reason)"
        case .searchStopped(let pattern, let milliseconds, let searched, let documents):
            return "the search for '\(pattern.prefix(200))' stopped after \(milliseconds) ms (\(searched) of \(documents) documents searched); allowed: a pattern that runs within the time limit — avoid nested or overlapping repeats such as (a+)+ or (a|aa)+"
        case .invalidCache(let path, let field, let found, let expected):
            return "\(path): field '\(field)' is \(found); expected \(expected)"
        }
    }
}
