import Foundation

/// A value a causal-model variable takes: an integer, a boolean or a string. In JSON it is the
/// plain JSON value (`3`, `true`, `"Paris"`).
public enum CausalValue: Hashable, Sendable, Codable, CustomStringConvertible {
    case int(Int)
    case bool(Bool)
    case string(String)

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let b = try? container.decode(Bool.self) { self = .bool(b) }
        else if let i = try? container.decode(Int.self) { self = .int(i) }
        else if let s = try? container.decode(String.self) { self = .string(s) }
        else {
            throw DecodingError.typeMismatch(CausalValue.self, .init(codingPath: decoder.codingPath,
                                                                     debugDescription: "a value must be an integer, a boolean or a string"))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .int(let i): try container.encode(i)
        case .bool(let b): try container.encode(b)
        case .string(let s): try container.encode(s)
        }
    }

    /// The value as JSON text would show it (`3`, `true`, `"a"`).
    public var description: String {
        switch self {
        case .int(let i): return String(i)
        case .bool(let b): return String(b)
        case .string(let s): return "\"\(s)\""
        }
    }

    /// The integer, when this is one.
    public var intValue: Int? { if case .int(let i) = self { return i }; return nil }
    /// The boolean, when this is one.
    public var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }
    /// The string, when this is one.
    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
}

/// Values of named variables: a causal model's inputs, interventions, or a full run.
public typealias CausalSetting = [String: CausalValue]
