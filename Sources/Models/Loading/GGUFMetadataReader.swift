import Tensors

/// Typed reads of a GGUF file's metadata, with errors that name the file, the key, the value
/// and what is allowed.
struct GGUFMetadataReader {
    let file: GGUFFile
    /// The architecture prefix of the keys ("llama" in "llama.block_count").
    let prefix: String

    func fail(_ key: String, _ value: GGUFValue?, _ expected: String) -> ModelError {
        .invalidConfig(path: file.path, field: key, value: value.map { "\($0)" } ?? "missing", expected: expected)
    }

    /// A required integer ≥ `minimum` at `prefix.key` (or the full key when it starts with "general." or "tokenizer.").
    func int(_ key: String, minimum: Int = 1) throws -> Int {
        guard let v = try optionalInt(key, minimum: minimum) else { throw fail(full(key), nil, "an integer ≥ \(minimum)") }
        return v
    }

    func optionalInt(_ key: String, minimum: Int = 1) throws -> Int? {
        guard let raw = file.metadata[full(key)] else { return nil }
        guard let v = raw.intValue, v >= minimum else { throw fail(full(key), raw, "an integer ≥ \(minimum)") }
        return v
    }

    func optionalFloat(_ key: String, minimum: Double = -.infinity) throws -> Float? {
        guard let raw = file.metadata[full(key)] else { return nil }
        guard let v = number(raw), v.isFinite, v >= minimum else { throw fail(full(key), raw, "a finite number ≥ \(minimum)") }
        return Float(v)
    }

    func optionalString(_ key: String) throws -> String? {
        guard let raw = file.metadata[full(key)] else { return nil }
        guard let v = raw.stringValue else { throw fail(full(key), raw, "a string") }
        return v
    }

    func optionalBool(_ key: String) throws -> Bool? {
        guard let raw = file.metadata[full(key)] else { return nil }
        guard let v = raw.boolValue else { throw fail(full(key), raw, "true or false") }
        return v
    }

    /// A list of strings (tokens, merges).
    func strings(_ key: String) throws -> [String]? {
        guard let raw = file.metadata[full(key)] else { return nil }
        guard let items = raw.arrayValue else { throw fail(full(key), raw, "an array of strings") }
        return try items.map { item in
            guard let s = item.stringValue else { throw fail(full(key), item, "an array of strings") }
            return s
        }
    }

    /// A list of numbers (scores) or integers (token types).
    func numbers(_ key: String) throws -> [Double]? {
        guard let raw = file.metadata[full(key)] else { return nil }
        guard let items = raw.arrayValue else { throw fail(full(key), raw, "an array of numbers") }
        return try items.map { item in
            guard let d = number(item) else { throw fail(full(key), item, "an array of numbers") }
            return d
        }
    }

    /// A float or integer value as a Double.
    func number(_ value: GGUFValue) -> Double? { value.doubleValue ?? value.intValue.map(Double.init) }

    func full(_ key: String) -> String {
        key.hasPrefix("general.") || key.hasPrefix("tokenizer.") ? key : prefix + "." + key
    }
}
