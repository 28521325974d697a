/// A configuration value that cannot be used. Names the field, the value and what is allowed.
public enum ConfigurationError: Error, CustomStringConvertible, Equatable {
    case invalidField(field: String, value: String, allowed: String)
    case malformed(String)
    /// An object holds a key its reader does not know (`path` is where, e.g. "training.batchsize").
    case unknownKey(key: String, path: String, allowed: [String])

    public var description: String {
        switch self {
        case .invalidField(let field, let value, let allowed): return "field '\(field)' has value \(value); allowed: \(allowed)"
        case .unknownKey(let key, let path, let allowed): return "unknown key '\(key)' at \(path); allowed keys there: \(allowed.joined(separator: ", "))"
        case .malformed(let message): return message
        }
    }
}
