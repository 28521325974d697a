import Tensors

/// Exact conversion from pyvene's JSON forms of `unit_locations` and `subspaces`.
///
/// Canonical: `{"sources->base": [SRC, BASE]}` (or `{"base": BASE}` with no source), where SRC
/// and BASE list one entry per intervention: for unit "pos"/"t" `[[p, …] per example]`, for
/// "h.pos" `[[[h, …] per example], [[p, …] per example]]`, for "h" `[[h, …] per example]`.
/// Shorthands: an int p (every example, every intervention, source and base at p); `[s, b]`
/// (two ints: source s, base b); `[null, b]` / `[s, null]`; a list of ints (those positions).
/// Serial mode keys are "source_0->source_1", …, "source_{n−1}->base".
extension UnitLocations {
    public init(pyvene json: JSONValue, config: IntervenableConfig, batchSize: Int) throws {
        let units = config.representations.map(\.unit)
        let n = units.count
        guard case .object(let object) = json else {
            throw ConfigurationError.invalidField(field: "unit_locations", value: json.kindName, allowed: "an object keyed \"sources->base\" or \"base\"")
        }
        var perIntervention = [InterventionLocations](repeating: InterventionLocations(source: nil, base: nil), count: n)
        if config.mode == .parallel {
            guard object.count == 1, let key = object.keys.first, key == "sources->base" || key == "base" else {
                throw ConfigurationError.invalidField(field: "unit_locations", value: "keys \(object.keys)", allowed: "exactly one of \"sources->base\", \"base\"")
            }
            let (src, base) = try UnitLocations.expand(object[key]!, baseOnly: key == "base", count: n, batchSize: batchSize, field: "unit_locations.\(key)")
            for i in 0..<n {
                perIntervention[i] = InterventionLocations(
                    source: try src.map { try UnitLocations.parse($0[i], unit: units[i], batchSize: batchSize, field: "unit_locations.\(key)[0][\(i)]") } ?? nil,
                    base: try base.map { try UnitLocations.parse($0[i], unit: units[i], batchSize: batchSize, field: "unit_locations.\(key)[1][\(i)]") } ?? nil)
            }
        } else {
            // Serial: group g's interventions read locations from "source_g->next".
            let groups = IntervenableModel.groups(of: config)
            for (g, members) in groups.enumerated() {
                let key = g == groups.count - 1 ? "source_\(g)->base" : "source_\(g)->source_\(g + 1)"
                guard let value = object[key] else {
                    throw ConfigurationError.invalidField(field: "unit_locations", value: "no key \"\(key)\"", allowed: "keys source_i->source_{i+1} and source_{last}->base in serial mode")
                }
                let (src, base) = try UnitLocations.expand(value, baseOnly: false, count: members.count, batchSize: batchSize, field: "unit_locations.\(key)")
                for (k, i) in members.enumerated() {
                    perIntervention[i] = InterventionLocations(
                        source: try src.map { try UnitLocations.parse($0[k], unit: units[i], batchSize: batchSize, field: "unit_locations.\(key)[0][\(k)]") } ?? nil,
                        base: try base.map { try UnitLocations.parse($0[k], unit: units[i], batchSize: batchSize, field: "unit_locations.\(key)[1][\(k)]") } ?? nil)
                }
            }
        }
        self.init(perIntervention)
    }

    /// Expands shorthands to (SRC, BASE) lists of `count` per-intervention JSON entries.
    static func expand(_ v: JSONValue, baseOnly: Bool, count: Int, batchSize: Int, field: String) throws -> ([JSONValue]?, [JSONValue]?) {
        func broadcast(_ positions: [Int]) -> [JSONValue] {
            Array(repeating: .array(Array(repeating: .array(positions.map { .int($0) }), count: batchSize)), count: count)
        }
        if let p = v.intValue {
            return (baseOnly ? nil : broadcast([p]), broadcast([p]))
        }
        guard let items = v.arrayValue else {
            throw ConfigurationError.invalidField(field: field, value: v.kindName, allowed: "an int, a list, or [sources, base]")
        }
        if items.count == 2, items.allSatisfy({ $0.intValue != nil || $0.isNull }), items.contains(where: { $0.intValue != nil }) {
            return (items[0].intValue.map { broadcast([$0]) }, items[1].intValue.map { broadcast([$0]) })
        }
        if !items.isEmpty, items.allSatisfy({ $0.intValue != nil }) {
            let positions = items.compactMap(\.intValue)
            return (baseOnly ? nil : broadcast(positions), broadcast(positions))
        }
        if baseOnly {
            guard items.count == count else {
                throw ConfigurationError.invalidField(field: field, value: "\(items.count) entries", allowed: "one entry per intervention (\(count))")
            }
            return (nil, items)
        }
        guard items.count == 2 else {
            throw ConfigurationError.invalidField(field: field, value: "a list of \(items.count)", allowed: "[sources, base]")
        }
        func side(_ x: JSONValue, _ name: String) throws -> [JSONValue]? {
            if x.isNull { return nil }
            guard let list = x.arrayValue, list.count == count else {
                throw ConfigurationError.invalidField(field: "\(field)[\(name)]", value: x.arrayValue.map { "\($0.count) entries" } ?? x.kindName,
                                                      allowed: "one entry per intervention (\(count))")
            }
            return list
        }
        return (try side(items[0], "0"), try side(items[1], "1"))
    }

    /// One intervention's per-example locations for its unit.
    static func parse(_ v: JSONValue, unit: RepresentationUnit, batchSize: Int, field: String) throws -> [UnitLocation]? {
        if v.isNull { return nil }
        func intLists(_ x: JSONValue, _ f: String) throws -> [[Int]] {
            guard let rows = x.arrayValue, rows.count == batchSize else {
                throw ConfigurationError.invalidField(field: f, value: x.arrayValue.map { "\($0.count) rows" } ?? x.kindName,
                                                      allowed: "one list per example (batch size \(batchSize))")
            }
            return try rows.enumerated().map { b, row in
                if let single = row.intValue { return [single] }
                guard let items = row.arrayValue, items.allSatisfy({ $0.intValue != nil }) else {
                    throw ConfigurationError.invalidField(field: "\(f)[\(b)]", value: row.kindName, allowed: "a list of integers")
                }
                return items.compactMap(\.intValue)
            }
        }
        switch unit {
        case .position, .timeStep:
            return try intLists(v, field).map { .positions($0) }
        case .head:
            return try intLists(v, field).map { UnitLocation(heads: $0) }
        case .headPosition:
            guard let pair = v.arrayValue, pair.count == 2 else {
                throw ConfigurationError.invalidField(field: field, value: v.kindName, allowed: "[heads per example, positions per example] for unit h.pos")
            }
            let heads = try intLists(pair[0], field + "[0]"), positions = try intLists(pair[1], field + "[1]")
            return zip(heads, positions).map { UnitLocation.heads($0, positions: $1) }
        case .whole:
            throw ConfigurationError.invalidField(field: field, value: "locations", allowed: "null for a whole-tensor representation")
        }
    }
}

extension IntervenableModel {
    /// Converts pyvene's `subspaces` JSON (per intervention, per example; or an int / a list of
    /// ints for every example of every intervention).
    public static func subspaces(pyvene json: JSONValue, interventions: Int, batchSize: Int) throws -> Subspaces {
        if json.isNull { return Array(repeating: nil, count: interventions) }
        if let v = json.intValue { return Array(repeating: Array(repeating: [v], count: batchSize), count: interventions) }
        guard let items = json.arrayValue else {
            throw ConfigurationError.invalidField(field: "subspaces", value: json.kindName, allowed: "an int, a list of ints, or per-intervention lists")
        }
        if !items.isEmpty, items.allSatisfy({ $0.intValue != nil }) {
            return Array(repeating: Array(repeating: items.compactMap(\.intValue), count: batchSize), count: interventions)
        }
        guard items.count == interventions else {
            throw ConfigurationError.invalidField(field: "subspaces", value: "\(items.count) entries", allowed: "one entry per intervention (\(interventions))")
        }
        return try items.enumerated().map { i, entry in
            if entry.isNull { return nil }
            guard let rows = entry.arrayValue, rows.count == batchSize else {
                throw ConfigurationError.invalidField(field: "subspaces[\(i)]", value: entry.kindName, allowed: "one list per example (batch size \(batchSize))")
            }
            return try rows.enumerated().map { b, row in
                guard let ids = row.arrayValue, ids.allSatisfy({ $0.intValue != nil }) else {
                    throw ConfigurationError.invalidField(field: "subspaces[\(i)][\(b)]", value: row.kindName, allowed: "a list of integers")
                }
                return ids.compactMap(\.intValue)
            }
        }
    }
}
