import Foundation
import Tensors

/// A model's config.json, read with typed errors that name the field and what is allowed.
public struct ModelConfig: @unchecked Sendable {
    /// The parsed JSON object.
    public let json: JSONObject
    /// Where it came from (for messages).
    public let path: String

    /// Reads and parses `path`.
    public init(path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ModelError.invalidConfig(path: path, field: "(file)", value: "missing", expected: "a config.json file")
        }
        let value: JSONValue
        do { value = try JSONValue.parse(contentsOf: path) } catch {
            throw ModelError.invalidConfig(path: path, field: "(file)", value: "unparsable", expected: "valid JSON (\(error))")
        }
        guard case .object(let object) = value else {
            throw ModelError.invalidConfig(path: path, field: "(root)", value: value.kindName, expected: "a JSON object")
        }
        self.init(json: object, path: path)
    }

    /// Wraps an already parsed object.
    public init(json: JSONObject, path: String = "config.json") {
        self.json = json
        self.path = path
    }

    /// The `model_type` field.
    public func modelType() throws -> String { try string("model_type") }

    /// The typed error for `field` holding `value` (nil: missing) where `expected` is allowed.
    public func fail(_ field: String, _ value: JSONValue?, _ expected: String) -> ModelError {
        .invalidConfig(path: path, field: field, value: value.map { $0.serialized() } ?? "missing", expected: expected)
    }

    /// A required positive (or ≥ `minimum`) integer.
    public func int(_ field: String, minimum: Int = 1) throws -> Int {
        guard let v = json[field]?.intValue, v >= minimum else { throw fail(field, json[field], "an integer ≥ \(minimum)") }
        return v
    }

    /// An optional integer (nil when absent or null), checked against `minimum` when present.
    public func optionalInt(_ field: String, minimum: Int = 1) throws -> Int? {
        guard let raw = json[field], !raw.isNull else { return nil }
        guard let v = raw.intValue, v >= minimum else { throw fail(field, raw, "an integer ≥ \(minimum) or null") }
        return v
    }

    /// The first present field among `fields` as an integer.
    public func int(anyOf fields: [String], minimum: Int = 1) throws -> Int {
        for f in fields where json[f] != nil && !(json[f]!.isNull) { return try int(f, minimum: minimum) }
        throw fail(fields.joined(separator: " or "), nil, "an integer ≥ \(minimum)")
    }

    /// A number, or `fallback` when absent.
    public func float(_ field: String, default fallback: Float? = nil, minimum: Double = -Double.infinity) throws -> Float {
        guard let raw = json[field], !raw.isNull else {
            if let fallback { return fallback }
            throw fail(field, nil, "a number")
        }
        guard let v = raw.doubleValue, v >= minimum, v.isFinite else { throw fail(field, raw, "a finite number ≥ \(minimum)") }
        return Float(v)
    }

    /// A number > 0, or nil when absent or null.
    public func optionalPositiveFloat(_ field: String) throws -> Float? {
        guard let raw = json[field], !raw.isNull else { return nil }
        guard let v = raw.doubleValue, v > 0, v.isFinite else { throw fail(field, raw, "a finite number > 0 or null") }
        return Float(v)
    }

    /// A boolean, or `fallback` when absent.
    public func bool(_ field: String, default fallback: Bool) throws -> Bool {
        guard let raw = json[field], !raw.isNull else { return fallback }
        guard let v = raw.boolValue else { throw fail(field, raw, "true or false") }
        return v
    }

    /// Checks that `headsField` (value `heads`) divides `widthField` (value `width`).
    public func requireDivisor(_ headsField: String, _ heads: Int, of widthField: String, _ width: Int) throws {
        guard width % heads == 0 else {
            throw ModelError.invalidConfig(path: path, field: headsField, value: "\(heads)", expected: "a divisor of \(widthField) (\(width))")
        }
    }

    /// Rejects a non-null `field` (a feature this library does not implement).
    public func requireNull(_ field: String, because reason: String) throws {
        if let value = json[field], !value.isNull {
            throw ModelError.invalidConfig(path: path, field: field, value: value.serialized(), expected: "null (\(reason))")
        }
    }

    /// A required string.
    public func string(_ field: String) throws -> String {
        guard let v = json[field]?.stringValue else { throw fail(field, json[field], "a string") }
        return v
    }

    /// An activation function name.
    public func activation(_ field: String, default fallback: Activation? = nil) throws -> Activation {
        guard let raw = json[field], !raw.isNull else {
            if let fallback { return fallback }
            throw fail(field, nil, "an activation name")
        }
        guard let name = raw.stringValue, let a = Activation(configName: name) else {
            throw fail(field, raw, "one of relu, gelu, gelu_new, gelu_pytorch_tanh, silu, swish, tanh, sigmoid")
        }
        return a
    }
}
