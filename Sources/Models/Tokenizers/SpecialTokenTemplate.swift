import Foundation
import Tensors

/// The ids `encode(_:addSpecialTokens: true)` puts before and after the text (BOS, EOS, [CLS]…).
struct SpecialTokenTemplate: Sendable, Equatable {
    var prefix: [Int] = []
    var suffix: [Int] = []

    /// Reads a tokenizer.json `post_processor`: null and `ByteLevel` add nothing;
    /// `TemplateProcessing` adds its `single` template's special tokens; `RobertaProcessing` and
    /// `BertProcessing` add `cls` before and `sep` after; `Sequence` combines its processors.
    static func parse(_ json: JSONValue?, path: String, field: String = "post_processor") throws -> SpecialTokenTemplate {
        guard let json, !json.isNull else { return SpecialTokenTemplate() }
        let type = json["type"]?.stringValue ?? "(none)"
        switch type {
        case "ByteLevel": return SpecialTokenTemplate()
        case "TemplateProcessing": return try template(json, path: path, field: field)
        case "RobertaProcessing", "BertProcessing":
            guard let cls = json["cls"]?[1]?.intValue, let sep = json["sep"]?[1]?.intValue else {
                throw TokenizerError.malformed(path: path, field: field, reason: "needs 'cls' and 'sep' as [token, id]")
            }
            return SpecialTokenTemplate(prefix: [cls], suffix: [sep])
        case "Sequence":
            var combined = SpecialTokenTemplate()
            for (i, p) in (json["processors"]?.arrayValue ?? []).enumerated() {
                let t = try parse(p, path: path, field: "\(field).processors[\(i)]")
                combined.prefix += t.prefix
                combined.suffix += t.suffix
            }
            return combined
        default:
            throw TokenizerError.unsupported(path: path, field: "\(field).type", value: type,
                                             supported: "ByteLevel, TemplateProcessing, RobertaProcessing, BertProcessing, Sequence")
        }
    }

    private static func template(_ json: JSONValue, path: String, field: String) throws -> SpecialTokenTemplate {
        guard let items = json["single"]?.arrayValue else {
            throw TokenizerError.malformed(path: path, field: "\(field).single", reason: "is missing or not an array")
        }
        var out = SpecialTokenTemplate()
        var afterSequence = false
        for (i, item) in items.enumerated() {
            if item["Sequence"] != nil { afterSequence = true; continue }
            guard let name = item["SpecialToken"]?["id"]?.stringValue else {
                throw TokenizerError.malformed(path: path, field: "\(field).single[\(i)]", reason: "is neither a Sequence nor a SpecialToken")
            }
            guard let ids = json["special_tokens"]?[name]?["ids"]?.arrayValue?.compactMap(\.intValue), !ids.isEmpty else {
                throw TokenizerError.malformed(path: path, field: "\(field).special_tokens.\(name)", reason: "is missing or has no ids")
            }
            if afterSequence { out.suffix += ids } else { out.prefix += ids }
        }
        return out
    }

    /// Applies `add_bos_token` / `add_eos_token` from a `tokenizer_config.json`, when it sets them
    /// (transformers' Llama and Gemma tokenizers rebuild the template from these keys).
    func overridden(byConfig config: JSONValue, path: String, idOf: (String) -> Int?) throws -> SpecialTokenTemplate {
        var out = self
        for (flag, tokenKey, isPrefix) in [("add_bos_token", "bos_token", true), ("add_eos_token", "eos_token", false)] {
            guard let add = config[flag]?.boolValue else { continue }
            var ids: [Int] = []
            if add {
                let name = config[tokenKey]?.stringValue ?? config[tokenKey]?["content"]?.stringValue
                guard let name, let id = idOf(name) else {
                    throw TokenizerError.malformed(path: path, field: tokenKey, reason: "must name a token of the vocabulary when \(flag) is true")
                }
                ids = [id]
            }
            if isPrefix { out.prefix = ids } else { out.suffix = ids }
        }
        return out
    }

    /// The `tokenizer_config.json` beside `tokenizerPath`, if there is one.
    static func neighbouringConfig(of tokenizerPath: String) throws -> (json: JSONValue, path: String)? {
        let path = URL(fileURLWithPath: tokenizerPath).deletingLastPathComponent().appendingPathComponent("tokenizer_config.json").path
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        do { return (try JSONValue.parse(contentsOf: path), path) } catch {
            throw TokenizerError.unreadable(path: path, reason: "\(error)")
        }
    }
}
