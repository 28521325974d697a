import CJSONC

/// A JSON document parsed with json-c (fast on the multi-megabyte files Hugging Face ships:
/// tokenizer.json, safetensors headers, JSONL data).
public indirect enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// Parses UTF-8 JSON text. Throws `JSONError` naming the position of a syntax error.
    public static func parse(_ bytes: UnsafeRawBufferPointer, maximumDepth: Int32 = 256) throws -> JSONValue {
        guard let tokener = json_tokener_new_ex(maximumDepth) else { throw JSONError.syntax("could not allocate a JSON parser") }
        defer { json_tokener_free(tokener) }
        let base = bytes.baseAddress?.assumingMemoryBound(to: CChar.self)
        guard bytes.count < Int(Int32.max) else { throw JSONError.syntax("document of \(bytes.count) bytes is too large") }
        let empty: [CChar] = [0]
        let root = empty.withUnsafeBufferPointer { emptyPointer in
            json_tokener_parse_ex(tokener, base ?? emptyPointer.baseAddress, Int32(bytes.count))
        }
        let status = json_tokener_get_error(tokener)
        if status != json_tokener_success || root == nil {
            let reason = status == json_tokener_continue ? "unexpected end of document" : String(cString: json_tokener_error_desc(status))
            throw JSONError.syntax("\(reason) near byte \(json_tokener_get_parse_end(tokener))")
        }
        defer { json_object_put(root) }
        let trailing = Int(json_tokener_get_parse_end(tokener))
        if trailing < bytes.count {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[trailing...])
            if rest.contains(where: { !($0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09) }) {
                throw JSONError.syntax("unexpected content after the JSON value at byte \(trailing)")
            }
        }
        return convert(root)
    }

    /// Parses a JSON string.
    public static func parse(_ text: String) throws -> JSONValue {
        var copy = text
        return try copy.withUTF8 { try parse(UnsafeRawBufferPointer($0)) }
    }

    /// Parses the file at `path`.
    public static func parse(contentsOf path: String) throws -> JSONValue {
        let data = try FileBytes(path: path)
        return try data.withBytes { try parse($0) }
    }

    private static func convert(_ object: OpaquePointer?) -> JSONValue {
        guard let object else { return .null }
        switch json_object_get_type(object) {
        case json_type_null: return .null
        case json_type_boolean: return .bool(json_object_get_boolean(object) != 0)
        case json_type_int: return .int(Int(json_object_get_int64(object)))
        case json_type_double: return .double(json_object_get_double(object))
        case json_type_string:
            let length = Int(json_object_get_string_len(object))
            guard let chars = json_object_get_string(object) else { return .string("") }
            let buffer = UnsafeRawBufferPointer(start: chars, count: length)
            return .string(String(decoding: buffer, as: UTF8.self))
        case json_type_array:
            let n = json_object_array_length(object)
            var items: [JSONValue] = []
            items.reserveCapacity(n)
            for i in 0..<n { items.append(convert(json_object_array_get_idx(object, i))) }
            return .array(items)
        case json_type_object:
            var result = JSONObject()
            var it = json_object_iter_begin(object)
            var end = json_object_iter_end(object)
            while json_object_iter_equal(&it, &end) == 0 {
                let name = String(cString: json_object_iter_peek_name(&it))
                result[name] = convert(json_object_iter_peek_value(&it))
                json_object_iter_next(&it)
            }
            return .object(result)
        default:
            return .null
        }
    }
}

/// A JSON object that remembers the order of its keys.
public struct JSONObject: Equatable, Sendable, Sequence {
    /// Keys in document (or insertion) order.
    public private(set) var keys: [String] = []
    /// Values by key.
    public private(set) var values: [String: JSONValue] = [:]

    /// An empty object.
    public init() {}

    /// An object from ordered pairs.
    public init(_ pairs: [(String, JSONValue)]) {
        for (k, v) in pairs { self[k] = v }
    }

    /// The value for `key`; setting nil removes it.
    public subscript(key: String) -> JSONValue? {
        get { values[key] }
        set {
            if let newValue {
                if values.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if values.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    /// Number of keys.
    public var count: Int { keys.count }

    /// Pairs in key order.
    public func makeIterator() -> AnyIterator<(key: String, value: JSONValue)> {
        var i = 0
        return AnyIterator {
            guard i < keys.count else { return nil }
            defer { i += 1 }
            return (keys[i], values[keys[i]]!)
        }
    }
}

/// Malformed JSON or JSON of an unexpected shape.
public enum JSONError: Error, CustomStringConvertible, Equatable {
    /// The text is not valid JSON.
    case syntax(String)
    /// A field is missing or has the wrong type; `path` names it (e.g. "model.vocab").
    case field(path: String, expected: String, found: String)

    public var description: String {
        switch self {
        case .syntax(let message): return "invalid JSON: \(message)"
        case .field(let path, let expected, let found): return "field '\(path)': expected \(expected), found \(found)"
        }
    }
}

extension JSONValue {
    /// The member `key` of an object.
    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    /// The element at `index` of an array.
    public subscript(index: Int) -> JSONValue? {
        if case .array(let a) = self, index >= 0, index < a.count { return a[index] }
        return nil
    }

    /// A short name of this value's kind, for error messages.
    public var kindName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .int: return "an integer"
        case .double: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    /// The value as a string, or nil.
    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    /// The value as an integer (integral doubles included), or nil.
    public var intValue: Int? {
        switch self {
        case .int(let i): return i
        case .double(let d) where d == d.rounded() && Swift.abs(d) < 9.0e15: return Int(d)
        default: return nil
        }
    }
    /// The value as a number, or nil.
    public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }
    /// The value as a boolean, or nil.
    public var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }
    /// The elements of an array, or nil.
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a }; return nil }
    /// The members of an object, or nil.
    public var objectValue: JSONObject? { if case .object(let o) = self { return o }; return nil }
    /// True for `null`.
    public var isNull: Bool { self == .null }
}
