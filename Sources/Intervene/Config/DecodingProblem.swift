import Foundation

/// What a `DecodingError` says, as the field path it happened at and what was expected there;
/// shared by every JSON reader that reports typed errors (configs, experiment files).
public struct DecodingProblem: Sendable, Equatable {
    /// Dotted path of the field, with array indices in brackets ("representations[0].layer");
    /// "(file)" when the problem is not at a field.
    public let field: String
    /// What the field should hold ("a required field", "a value of type Int", …).
    public let expected: String

    public init(_ error: Error) {
        guard let e = error as? DecodingError else {
            field = "(file)"
            expected = "\(error)"
            return
        }
        let keys: [CodingKey]
        switch e {
        case .keyNotFound(let key, let ctx):
            keys = ctx.codingPath + [key]
            expected = "a required field"
        case .typeMismatch(let type, let ctx):
            keys = ctx.codingPath
            expected = "a value of type \(type)"
        case .valueNotFound(let type, let ctx):
            keys = ctx.codingPath
            expected = "a non-null \(type)"
        case .dataCorrupted(let ctx):
            keys = ctx.codingPath
            expected = ctx.underlyingError.map { "valid JSON (\($0))" } ?? ctx.debugDescription
        @unknown default:
            keys = []
            expected = "\(error)"
        }
        let path = DecodingProblem.path(keys)
        field = path.isEmpty ? "(file)" : path
    }

    /// A coding path as written in messages: "representations[0].layer".
    public static func path(_ keys: [CodingKey]) -> String {
        keys.reduce("") { path, key in
            if let index = key.intValue { return path + "[\(index)]" }
            return path.isEmpty ? key.stringValue : path + "." + key.stringValue
        }
    }

    /// One line: "field 'x' expected y".
    public var description: String { "field '\(field)': expected \(expected)" }
}
