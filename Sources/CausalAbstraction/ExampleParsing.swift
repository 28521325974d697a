import Models
import Tensors

/// Where an example was written, for error messages: a .jsonl line (`file` "path:line", no
/// prefix) or an inline example of an experiment file (`file` the experiment, `fieldPrefix`
/// "data.train[3].").
struct ExampleSite {
    let file: String
    let fieldPrefix: String

    func invalid(_ field: String, _ value: String, _ expected: String) -> ExperimentError {
        .invalid(file: file, field: fieldPrefix + field, value: value, expected: expected)
    }
}

/// The tokenizer for text inputs, loaded the first time an example has text (so data of ids
/// never needs one).
final class TokenizerProvider {
    private let load: () throws -> (any Tokenizer)?
    private var loaded: (any Tokenizer)??

    init(_ load: @escaping () throws -> (any Tokenizer)?) { self.load = load }

    /// The tokenizer, or `.textWithoutTokenizer` naming `field` of `site` when there is none.
    func require(for field: String, at site: ExampleSite) throws -> any Tokenizer {
        if loaded == nil { loaded = .some(try load()) }
        guard let tokenizer = loaded ?? nil else { throw ExperimentError.textWithoutTokenizer(file: site.file, field: site.fieldPrefix + field) }
        return tokenizer
    }
}

/// One input of an example as parsed: what the model runs, and the text it came from.
struct ParsedInput {
    let input: InterventionExample.Input
    let text: TokenizedText?

    var length: Int { input.length }

    /// "the base \"…\" has 5 tokens: 0 \"The\", …", "the base has 3 token ids", …
    func describe(_ side: String) -> String {
        if let text { return "the \(side) \(quoted(text.text)) has \(input.length) tokens: \(text.tokenList)" }
        if case .embeddings = input { return "the \(side) has \(input.length) embedding vectors" }
        return "the \(side) has \(input.length) token ids"
    }
}

extension InterventionExample {
    /// The keys an example's JSON object may have.
    public static let jsonKeys = ["answer_tokens", "base", "label", "positions", "source", "source_positions", "sources"]

    /// One example from its JSON object; errors name `site` and the field.
    static func parse(_ json: JSONValue, at site: ExampleSite, classes: Int?, tokenizer: TokenizerProvider) throws -> InterventionExample {
        guard let object = json.objectValue else {
            throw site.invalid("(example)", json.kindName, "a JSON object with keys \(jsonKeys.joined(separator: ", "))")
        }
        if let unknown = object.keys.sorted().first(where: { !jsonKeys.contains($0) }) {
            throw ExperimentError.unknownKey(file: site.file, key: unknown, path: site.fieldPrefix + unknown, allowed: jsonKeys)
        }
        let base = try parseInput(json, "base", site, tokenizer)
        let sources = try parseSources(json, site, tokenizer)
        let (label, answer) = try parseLabel(json, site, classes: classes, tokenizer: tokenizer)
        if let nested = try locationsBySource(json, base: base, sources: sources, site) {
            return InterventionExample(base: base.input, sources: sources.map(\.input), basePositions: nested[0].base,
                                       sourcePositions: nested[0].source, locationsBySource: nested, label: label, answerTokens: answer)
        }
        guard let basePositions = try positions(json["positions"], "positions", of: base, side: "base", site) else {
            throw site.invalid("positions", "missing", "a non-empty list of positions, each " + TokenPosition.forms)
        }
        var sourcePositions: [Int]? = nil
        for (k, source) in sources.enumerated() {
            let side = sources.count == 1 ? "source" : "source \(k)"
            let resolved = try positions(json["source_positions"], "source_positions", of: source, side: side, site)
                ?? defaultSourcePositions(basePositions, source: source, side: side, site)
            // Positions written as text resolve per source; one list for every source must agree.
            if let first = sourcePositions, first != resolved {
                throw site.invalid("source_positions", json["source_positions"]?.serialized() ?? "missing",
                                   "positions that resolve to the same indices in every source, or one list per source ([[…], […]]); they resolve to \(first) and \(resolved)")
            }
            sourcePositions = resolved
        }
        return InterventionExample(base: base.input, sources: sources.map(\.input), basePositions: basePositions,
                                   sourcePositions: sourcePositions, label: label, answerTokens: answer)
    }

    /// `source`, or each input of `sources` (not both).
    static func parseSources(_ json: JSONValue, _ site: ExampleSite, _ tokenizer: TokenizerProvider) throws -> [ParsedInput] {
        guard let list = json["sources"], !list.isNull else { return [try parseInput(json, "source", site, tokenizer)] }
        if let single = json["source"], !single.isNull {
            throw site.invalid("source", single.serialized(), "no \"source\" beside \"sources\" (put every source in \"sources\")")
        }
        guard let items = list.arrayValue, !items.isEmpty else {
            throw site.invalid("sources", list.serialized(), "a non-empty list of inputs (texts, token id lists or vector lists), one per intervention")
        }
        return try items.indices.map { try parseInput(value: items[$0], "sources[\($0)]", site, tokenizer) }
    }

    /// One list of positions per source (`"positions": [[…], […]]`), or nil when `positions`
    /// is one list for every source.
    static func locationsBySource(_ json: JSONValue, base: ParsedInput, sources: [ParsedInput], _ site: ExampleSite) throws -> [Locations]? {
        func nested(_ field: String) -> [JSONValue]? {
            guard let items = json[field]?.arrayValue, items.first?.arrayValue != nil else { return nil }
            return items
        }
        let baseLists = nested("positions"), sourceLists = nested("source_positions")
        guard baseLists != nil || sourceLists != nil else { return nil }
        for (field, lists) in [("positions", baseLists), ("source_positions", sourceLists)] {
            if let lists, lists.count != sources.count {
                throw site.invalid(field, json[field]!.serialized(), "one list of positions per source (\(sources.count)), or one list for every source")
            }
        }
        return try sources.enumerated().map { k, source in
            let side = sources.count == 1 ? "source" : "source \(k)"
            let baseValue = baseLists?[k] ?? json["positions"]
            guard let basePositions = try positions(baseValue, "positions" + (baseLists == nil ? "" : "[\(k)]"), of: base, side: "base", site) else {
                throw site.invalid("positions", "missing", "a non-empty list of positions, each " + TokenPosition.forms)
            }
            let sourceValue = sourceLists?[k] ?? json["source_positions"]
            let sourcePositions = try positions(sourceValue, "source_positions" + (sourceLists == nil ? "" : "[\(k)]"), of: source, side: side, site)
                ?? defaultSourcePositions(basePositions, source: source, side: side, site)
            return Locations(base: basePositions, source: sourcePositions)
        }
    }

    /// A text (tokenized with special tokens), token ids, or vectors of one width.
    static func parseInput(_ json: JSONValue, _ field: String, _ site: ExampleSite, _ tokenizer: TokenizerProvider) throws -> ParsedInput {
        try parseInput(value: json[field], field, site, tokenizer)
    }

    /// The input `value` written at `field`.
    static func parseInput(value: JSONValue?, _ field: String, _ site: ExampleSite, _ tokenizer: TokenizerProvider) throws -> ParsedInput {
        if let text = value?.stringValue {
            let tokenized = TokenizedText(text, tokenizer: try tokenizer.require(for: field, at: site))
            guard !tokenized.encoding.ids.isEmpty else { throw site.invalid(field, quoted(text), "a text of at least one token") }
            return ParsedInput(input: .tokens(tokenized.encoding.ids), text: tokenized)
        }
        guard let items = value?.arrayValue, !items.isEmpty else {
            throw site.invalid(field, value?.serialized() ?? "missing", "a text, or a non-empty list of token ids or of vectors")
        }
        if items.allSatisfy({ $0.intValue != nil }) { return ParsedInput(input: .tokens(items.compactMap(\.intValue)), text: nil) }
        let rows = items.map { item -> [Float]? in
            guard let values = item.arrayValue, values.allSatisfy({ $0.doubleValue != nil }) else { return nil }
            return values.compactMap(\.doubleValue).map { Float($0) }
        }
        guard let width = rows[0]?.count, width > 0, rows.allSatisfy({ $0?.count == width }) else {
            throw site.invalid(field, "…", "token ids, or vectors of one length")
        }
        return ParsedInput(input: .embeddings(rows.compactMap { $0 }), text: nil)
    }

    /// The resolved indices of `field` (nil when absent); a position that does not resolve
    /// throws naming it and what `input` allows.
    static func positions(_ value: JSONValue?, _ field: String, of input: ParsedInput, side: String, _ site: ExampleSite) throws -> [Int]? {
        guard let value, !value.isNull else { return nil }
        guard let items = value.arrayValue, !items.isEmpty else {
            throw site.invalid(field, value.serialized(), "a non-empty list of positions, each " + TokenPosition.forms)
        }
        return try items.map { item in
            guard let position = TokenPosition(json: item) else { throw site.invalid(field, item.serialized(), TokenPosition.forms) }
            guard let index = position.resolve(length: input.length, text: input.text) else {
                throw site.invalid(field, item.serialized(), allowedPositions(for: position, in: input, side: side))
            }
            return index
        }
    }

    /// What a position that did not resolve could have been.
    static func allowedPositions(for position: TokenPosition, in input: ParsedInput, side: String) -> String {
        let indices = "a token index in \(-input.length)..<\(input.length)"
        switch position {
        case .index: return "\(indices); \(input.describe(side))"
        case .substring(_, let occurrence) where input.text != nil:
            return "a substring that occurs \(occurrence == 1 ? "in" : "at least \(occurrence) times in") the \(side) text; \(input.describe(side))"
        case .substring: return "\(indices) (substrings need a text \(side)); \(input.describe(side))"
        }
    }

    /// Without `source_positions`, the source is intervened at the base's resolved indices.
    static func defaultSourcePositions(_ positions: [Int], source: ParsedInput, side: String = "source", _ site: ExampleSite) throws -> [Int] {
        guard let outside = positions.first(where: { $0 >= source.input.length }) else { return positions }
        throw site.invalid("source_positions", "missing",
                           "source positions: the default, the base's indices \(positions), includes \(outside); \(source.describe(side))")
    }

    /// The label (an id, or a text's first token) and the answer's tokens (a text label's, or
    /// `answer_tokens`).
    static func parseLabel(_ json: JSONValue, _ site: ExampleSite, classes: Int?, tokenizer: TokenizerProvider) throws -> (Int, [Int]?) {
        let classRange = classes.map { "a class index in 0..<\($0) (the classes of the model's output)" } ?? "a non-negative integer"
        func isClass(_ id: Int) -> Bool { id >= 0 && id < classes ?? Int.max }
        var label: Int, answer: [Int]?
        if let text = json["label"]?.stringValue {
            let ids = try tokenizer.require(for: "label", at: site).encode(text, addSpecialTokens: false).ids
            guard let first = ids.first, ids.allSatisfy(isClass) else {
                throw site.invalid("label", quoted(text), "a text of at least one token, each \(classRange); it tokenizes to \(ids)")
            }
            (label, answer) = (first, ids)
        } else {
            guard let id = json["label"]?.intValue, isClass(id) else {
                let isInteger = json["label"]?.intValue != nil
                throw site.invalid("label", json["label"]?.serialized() ?? "missing", classRange + (isInteger ? "" : ", or a text (its first token)"))
            }
            label = id
        }
        if let value = json["answer_tokens"], !value.isNull {
            guard let ids = value.arrayValue?.compactMap(\.intValue), ids.count == value.arrayValue?.count, ids.first == label, ids.allSatisfy(isClass) else {
                throw site.invalid("answer_tokens", value.serialized(), "a list of token ids, each \(classRange), whose first is the label \(label)")
            }
            answer = ids
        }
        return (label, answer)
    }
}
