/// A coding key for any string or index, to list every key a JSON object holds.
struct AnyCodingKey: CodingKey {
    let stringValue: String
    let intValue: Int?

    init(stringValue: String) {
        self.stringValue = stringValue
        intValue = nil
    }

    init(intValue: Int) {
        stringValue = "\(intValue)"
        self.intValue = intValue
    }
}

extension Decoder {
    /// Throws `ConfigurationError.unknownKey` for the first key (in sorted order) of the JSON
    /// object being decoded that `Keys` does not list, naming its path in the file and the
    /// allowed keys, so that a misspelled optional field is not silently ignored. Does nothing
    /// when the value is not an object (decoding it then reports the type).
    public func rejectUnknownKeys<Keys: CodingKey & CaseIterable>(_ keys: Keys.Type) throws {
        guard let object = try? container(keyedBy: AnyCodingKey.self) else { return }
        let allowed = Keys.allCases.map(\.stringValue)
        guard let unknown = object.allKeys.map(\.stringValue).sorted().first(where: { !allowed.contains($0) }) else { return }
        throw ConfigurationError.unknownKey(key: unknown, path: DecodingProblem.path(codingPath + [AnyCodingKey(stringValue: unknown)]),
                                            allowed: allowed.sorted())
    }
}
