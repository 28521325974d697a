import Tensors

/// A JSON value that round-trips through Codable (for free-form hyperparameters).
public struct JSONCodable: Codable, Sendable, Equatable {
    public var value: JSONValue

    public init(_ value: JSONValue) { self.value = value }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { value = .null }
        else if let b = try? c.decode(Bool.self) { value = .bool(b) }
        else if let i = try? c.decode(Int.self) { value = .int(i) }
        else if let d = try? c.decode(Double.self) { value = .double(d) }
        else if let s = try? c.decode(String.self) { value = .string(s) }
        else if let a = try? c.decode([JSONCodable].self) { value = .array(a.map(\.value)) }
        else if let o = try? c.decode([String: JSONCodable].self) {
            value = .object(JSONObject(o.keys.sorted().map { ($0, o[$0]!.value) }))
        } else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "unsupported JSON value")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch value {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .int(let i): try c.encode(i)
        case .double(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a.map(JSONCodable.init))
        case .object(let o): try c.encode(Dictionary(uniqueKeysWithValues: o.map { ($0.key, JSONCodable($0.value)) }))
        }
    }
}

extension JSONCodable: ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByBooleanLiteral {
    public init(integerLiteral value: Int) { self.value = .int(value) }
    public init(floatLiteral value: Double) { self.value = .double(value) }
    public init(stringLiteral value: String) { self.value = .string(value) }
    public init(booleanLiteral value: Bool) { self.value = .bool(value) }
}
