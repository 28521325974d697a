import Tensors

/// Reads the tokenizer.json `pre_tokenizer` forms byte-level BPE uses.
enum PreTokenizerJSON {
    /// The splitting steps of `json` and whether it contains a `ByteLevel` pre-tokenizer.
    /// Supported: `ByteLevel` (add_prefix_space false; use_regex runs GPT-2's pattern),
    /// `Split` (Regex or String pattern, behavior Isolated, not inverted), `Digits`, `Sequence`.
    static func parse(_ json: JSONValue?, path: String, field: String = "pre_tokenizer") throws -> (steps: [PreTokenizer.Step], byteLevel: Bool) {
        guard let json, !json.isNull else { return ([], false) }
        let type = json["type"]?.stringValue ?? "(none)"
        switch type {
        case "ByteLevel":
            if json["add_prefix_space"]?.boolValue == true {
                throw TokenizerError.unsupported(path: path, field: "\(field).add_prefix_space", value: "true", supported: "false")
            }
            return (json["use_regex"]?.boolValue ?? true ? [.gpt2] : [], true)
        case "Split": return ([try split(json, path: path, field: field)], false)
        case "Digits": return ([.digits(individual: json["individual_digits"]?.boolValue ?? false)], false)
        case "Sequence":
            guard let items = json["pretokenizers"]?.arrayValue else {
                throw TokenizerError.malformed(path: path, field: "\(field).pretokenizers", reason: "is missing or not an array")
            }
            var steps: [PreTokenizer.Step] = []
            var byteLevel = false
            for (i, item) in items.enumerated() {
                let parsed = try parse(item, path: path, field: "\(field).pretokenizers[\(i)]")
                steps += parsed.steps
                byteLevel = byteLevel || parsed.byteLevel
            }
            return (steps, byteLevel)
        default:
            throw TokenizerError.unsupported(path: path, field: "\(field).type", value: type, supported: "ByteLevel, Split, Digits, Sequence")
        }
    }

    private static func split(_ json: JSONValue, path: String, field: String) throws -> PreTokenizer.Step {
        let behavior = json["behavior"]?.stringValue ?? "(none)"
        guard behavior == "Isolated" else {
            throw TokenizerError.unsupported(path: path, field: "\(field).behavior", value: behavior, supported: "Isolated")
        }
        if json["invert"]?.boolValue == true {
            throw TokenizerError.unsupported(path: path, field: "\(field).invert", value: "true", supported: "false")
        }
        do {
            if let pattern = json["pattern"]?["Regex"]?.stringValue { return .regex(try RegexSplit(pattern: pattern)) }
            if let literal = json["pattern"]?["String"]?.stringValue { return .regex(try RegexSplit(literal: literal)) }
        } catch {
            throw TokenizerError.malformed(path: path, field: "\(field).pattern", reason: "does not compile (\(error))")
        }
        throw TokenizerError.malformed(path: path, field: "\(field).pattern", reason: "needs a 'Regex' or 'String' member")
    }

    /// Whether `normalizer` asks for NFC (alone or in a Sequence); throws for any other normalizer.
    static func composesNFC(_ json: JSONValue?, path: String, field: String = "normalizer") throws -> Bool {
        guard let json, !json.isNull else { return false }
        let type = json["type"]?.stringValue ?? "(none)"
        switch type {
        case "NFC": return true
        case "Sequence":
            var nfc = false
            for (i, item) in (json["normalizers"]?.arrayValue ?? []).enumerated() {
                nfc = try composesNFC(item, path: path, field: "\(field).normalizers[\(i)]") || nfc
            }
            return nfc
        default:
            throw TokenizerError.unsupported(path: path, field: "\(field).type", value: type, supported: "none or NFC for byte-level BPE")
        }
    }
}
