import Foundation

/// JSON reading and writing of table-defined causal models.
///
///     {"variables": [
///       {"name": "A", "domain": [0, 1], "position": 0},
///       {"name": "B", "domain": [0, 1], "position": 1},
///       {"name": "AND", "domain": [0, 1], "parents": ["A", "B"],
///        "table": [{"parents": [0, 0], "value": 0}, {"parents": [0, 1], "value": 0},
///                  {"parents": [1, 0], "value": 0}, {"parents": [1, 1], "value": 1}]}
///     ]}
///
/// A variable without `table` is an input (it must then have no `parents`). Values are JSON
/// integers, booleans or strings (`CausalValue`). Closure mechanisms are code-only: `json()`
/// throws `notSerializable` for a model that has one.
extension CausalModel {
    struct Document: Codable {
        var variables: [VariableDocument]
    }

    struct VariableDocument: Codable {
        var name: String
        var domain: [CausalValue]
        var parents: [String]?
        var table: [Row]?
        var position: Int?
    }

    struct Row: Codable {
        var parents: [CausalValue]
        var value: CausalValue
    }

    /// The model as JSON (keys sorted, table rows in domain order of the parents); throws
    /// `notSerializable` naming the first variable with a closure mechanism.
    public func json() throws -> Data {
        let docs = try variables.map { v -> VariableDocument in
            var doc = VariableDocument(name: v.name, domain: v.domain, parents: v.parents.isEmpty ? nil : v.parents, table: nil, position: v.position)
            switch v.mechanism {
            case .input: break
            case .closure: throw CausalModelError.notSerializable(variable: v.name)
            case .table(let table):
                let domains = try v.parents.map { try variable($0).domain }
                func rank(_ key: [CausalValue]) -> [Int] { zip(key, domains).map { $1.firstIndex(of: $0) ?? Int.max } }
                doc.table = table.keys.sorted { rank($0).lexicographicallyPrecedes(rank($1)) }.map { Row(parents: $0, value: table[$0]!) }
            }
            return doc
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(Document(variables: docs))
    }

    /// Reads a model from JSON; malformed JSON or a document that is not a causal model throws
    /// `malformedJSON` naming the field; a parsed model is checked as `init` does (cycles,
    /// unknown parents, table values outside domains).
    public init(json data: Data) throws {
        let doc: Document
        do { doc = try JSONDecoder().decode(Document.self, from: data) } catch let error as DecodingError {
            throw CausalModelError.malformedJSON(reason: CausalModel.describe(error))
        } catch {
            throw CausalModelError.malformedJSON(reason: "\(error)")
        }
        let variables = try doc.variables.map { d -> CausalVariable in
            guard let rows = d.table else {
                guard (d.parents ?? []).isEmpty else {
                    throw CausalModelError.invalidVariable(variable: d.name, reason: "has parents but no table (closure mechanisms cannot be read from JSON)")
                }
                return .input(d.name, domain: d.domain, position: d.position)
            }
            var table: [[CausalValue]: CausalValue] = [:]
            for row in rows {
                guard table.updateValue(row.value, forKey: row.parents) == nil else {
                    throw CausalModelError.invalidVariable(variable: d.name, reason: "two table rows for parent values \(row.parents.map(\.description))")
                }
            }
            return CausalVariable(d.name, domain: d.domain, parents: d.parents ?? [], mechanism: .table(table), position: d.position)
        }
        try self.init(variables)
    }

    /// Reads a model from a JSON file (`malformedJSON` when the file cannot be read).
    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw CausalModelError.malformedJSON(reason: "\(path): not a readable file") }
        try self.init(json: data)
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let p = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return p.isEmpty ? "(document)" : String(p.drop { $0 == "." })
        }
        switch error {
        case .keyNotFound(let key, let context): return "\(path(context)): missing key '\(key.stringValue)'"
        case .typeMismatch(_, let context), .valueNotFound(_, let context): return "\(path(context)): \(context.debugDescription)"
        case .dataCorrupted(let context): return "\(path(context)): \(context.debugDescription) \(context.underlyingError.map { "(\($0))" } ?? "")"
        @unknown default: return "\(error)"
        }
    }
}
