/// A codebook input that does not fit. Every message names the codebook, the field, the bad
/// value and what is allowed.
public enum CodebookError: Error, CustomStringConvertible, Equatable {
    /// The activation's last dimension differs from the codebook's code width.
    case widthMismatch(codebook: String, site: String, expected: Int, actual: Int)
    /// A group codebook whose group count does not divide the width it splits.
    case groupsDoNotDivide(codebook: String, groups: Int, width: Int)
    /// A code index (in a code patch) outside `-1 ..< codes` (−1 blocks a slot).
    case codeOutOfRange(codebook: String, code: Int, codes: Int)
    /// `disabledCodes` names a code the codebook does not have.
    case disabledCodeOutOfRange(codebook: String, code: Int, codes: Int)
    /// A per-call option that cannot be honoured (a slot, position, group or count out of range).
    case invalidOption(codebook: String, field: String, value: String, allowed: String)
    /// A hyperparameter outside its domain (codes, k, metric, objective, placement …).
    case invalidHyperparameter(field: String, value: String, allowed: String)
    /// A codebook name the model does not have.
    case unknownCodebook(name: String, available: [String])

    public var description: String {
        switch self {
        case .widthMismatch(let c, let site, let expected, let actual):
            return "codebook '\(c)': the activation at \(site) has width \(actual) but the codebook's codes have width \(expected)"
        case .groupsDoNotDivide(let c, let groups, let width):
            return "codebook '\(c)': \(groups) groups do not divide the width \(width); allowed: a group count that divides \(width)"
        case .codeOutOfRange(let c, let code, let codes):
            return "codebook '\(c)': code \(code) is out of range; allowed: 0..<\(codes), or -1 to block the slot"
        case .disabledCodeOutOfRange(let c, let code, let codes):
            return "codebook '\(c)': disabledCodes names code \(code), which does not exist; allowed: 0..<\(codes)"
        case .invalidOption(let c, let field, let value, let allowed):
            return "codebook '\(c)': \(field) is \(value); allowed: \(allowed)"
        case .invalidHyperparameter(let field, let value, let allowed):
            return "codebook hyperparameter '\(field)' is \(value); allowed: \(allowed)"
        case .unknownCodebook(let name, let available):
            return "codebook '\(name)' does not exist; allowed: \(available.isEmpty ? "(no codebooks)" : available.joined(separator: ", "))"
        }
    }
}
