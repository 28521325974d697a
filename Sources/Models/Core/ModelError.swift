/// A model could not be built or loaded. Every case names the file, key or field at fault.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    /// config.json is missing, not JSON, or a field has a bad value.
    case invalidConfig(path: String, field: String, value: String, expected: String)
    /// No architecture is registered for the config's model_type.
    case unknownModelType(String, known: [String])
    /// A checkpoint folder has no weights we can read.
    case missingWeights(folder: String, reason: String)
    /// Loading weights found problems (see the report).
    case checkpointMismatch(LoadReport)
    /// An input has the wrong shape or values.
    case invalidInput(String)
    /// A model could not be found; `searched` lists every place looked at.
    case notFound(what: String, searched: [String])
    /// Keys or values appended to a `KeyValueCache` do not fit it: `field` (layer, batch size,
    /// width, tokens, …) is `actual` where the cache holds `expected`.
    case cacheMismatch(layer: Int, field: String, expected: String, actual: String)

    public var description: String {
        switch self {
        case .invalidConfig(let path, let field, let value, let expected):
            return "\(path): field '\(field)' has value \(value); expected \(expected)"
        case .unknownModelType(let type, let known):
            return "model_type '\(type)' is not registered; known types: \(known.joined(separator: ", "))"
        case .missingWeights(let folder, let reason): return "\(folder): \(reason)"
        case .checkpointMismatch(let report): return "checkpoint does not match the model: \(report)"
        case .invalidInput(let message): return "invalid input: \(message)"
        case .notFound(let what, let searched):
            return "cannot find \(what); searched: " + (searched.isEmpty ? "nowhere (no cache folder is configured)" : searched.joined(separator: ", "))
        case .cacheMismatch(let layer, let field, let expected, let actual):
            return "key/value cache, layer \(layer): \(field) is \(actual); expected \(expected)"
        }
    }
}

/// What loading a checkpoint into a module found.
public struct LoadReport: Equatable, CustomStringConvertible, Sendable {
    /// Parameters the model has but the checkpoint lacks.
    public var missing: [String] = []
    /// Tensors in the checkpoint the model has no parameter for.
    public var unexpected: [String] = []
    /// Parameters whose checkpoint tensor has another shape: (key, model shape, checkpoint shape).
    public var misshaped: [MisshapedKey] = []

    /// One shape disagreement.
    public struct MisshapedKey: Equatable, Sendable {
        public let key: String
        public let expected: [Int]
        public let found: [Int]
    }

    public init() {}

    /// True when nothing is wrong.
    public var isClean: Bool { missing.isEmpty && unexpected.isEmpty && misshaped.isEmpty }

    public var description: String {
        var parts: [String] = []
        if !missing.isEmpty { parts.append("missing keys: \(missing.joined(separator: ", "))") }
        if !unexpected.isEmpty { parts.append("unexpected keys: \(unexpected.joined(separator: ", "))") }
        if !misshaped.isEmpty {
            parts.append("mis-shaped keys: " + misshaped.map { "\($0.key) (model \($0.expected), checkpoint \($0.found))" }.joined(separator: ", "))
        }
        return parts.isEmpty ? "clean" : parts.joined(separator: "; ")
    }
}
