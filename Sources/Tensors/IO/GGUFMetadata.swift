/// Typed reads of GGUF metadata. Each throws `missingKey` when the key is absent and
/// `wrongValueType` (naming the key, the stored type and the expected type) when the value has
/// another type; `metadata[key]` tells whether an optional key is present.
extension GGUFFile {
    /// The value of `key`.
    public func value(_ key: String) throws -> GGUFValue {
        guard let value = metadata[key] else { throw GGUFError(path: path, .missingKey(key: key)) }
        return value
    }

    /// A STRING value.
    public func string(_ key: String) throws -> String {
        try read(key, expected: "STRING") { $0.stringValue }
    }

    /// A value of any of the eight integer types, as `Int` (a UINT64 above `Int.max` throws
    /// `valueOutOfRange`).
    public func int(_ key: String) throws -> Int {
        let value = try self.value(key)
        if case .uint64(let v) = value, v > UInt64(Int.max) {
            throw GGUFError(path: path, .valueOutOfRange(key: key, value: "\(v)", expected: "an integer up to \(Int.max)"))
        }
        return try read(key, expected: "an integer type") { $0.intValue }
    }

    /// A FLOAT32 value exactly, or a FLOAT64 value rounded to Float (one that overflows Float
    /// throws `valueOutOfRange`).
    public func float(_ key: String) throws -> Float {
        let value = try double(key)
        let narrowed = Float(value)
        if narrowed.isInfinite && value.isFinite {
            throw GGUFError(path: path, .valueOutOfRange(key: key, value: "\(value)", expected: "a value within Float's range"))
        }
        return narrowed
    }

    /// A FLOAT32 or FLOAT64 value as Double (exact).
    public func double(_ key: String) throws -> Double {
        try read(key, expected: "FLOAT32 or FLOAT64") { $0.doubleValue }
    }

    /// A BOOL value.
    public func bool(_ key: String) throws -> Bool {
        try read(key, expected: "BOOL") { $0.boolValue }
    }

    /// The elements of an ARRAY value.
    public func array(_ key: String) throws -> [GGUFValue] {
        try read(key, expected: "ARRAY") { $0.arrayValue }
    }

    /// An ARRAY of STRING.
    public func strings(_ key: String) throws -> [String] {
        try elements(key, expected: "ARRAY of STRING") { $0.stringValue }
    }

    /// An ARRAY of any integer type, as `Int`.
    public func ints(_ key: String) throws -> [Int] {
        try elements(key, expected: "ARRAY of an integer type") { $0.intValue }
    }

    /// An ARRAY of FLOAT32 (exact) or FLOAT64 (rounded to Float).
    public func floats(_ key: String) throws -> [Float] {
        try elements(key, expected: "ARRAY of FLOAT32 or FLOAT64") { $0.doubleValue.map { Float($0) } }
    }

    /// Converts the value of `key` or throws `wrongValueType`.
    private func read<T>(_ key: String, expected: String, _ convert: (GGUFValue) -> T?) throws -> T {
        let value = try self.value(key)
        guard let converted = convert(value) else {
            throw GGUFError(path: path, .wrongValueType(key: key, found: value.typeDescription, expected: expected))
        }
        return converted
    }

    /// Converts every element of the array at `key` or throws `wrongValueType`.
    private func elements<T>(_ key: String, expected: String, _ convert: (GGUFValue) -> T?) throws -> [T] {
        let value = try self.value(key)
        let wrong = GGUFError(path: path, .wrongValueType(key: key, found: value.typeDescription, expected: expected))
        guard case .array(_, let values) = value else { throw wrong }
        var out: [T] = []
        out.reserveCapacity(values.count)
        for element in values {
            guard let converted = convert(element) else { throw wrong }
            out.append(converted)
        }
        return out
    }
}
