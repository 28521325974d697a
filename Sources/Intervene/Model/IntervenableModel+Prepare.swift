import Models
import Tensors

extension IntervenableModel {
    /// Validates the inputs of a call and builds its pass state: locations and subspaces per
    /// intervention.
    func preparePass(base: ModelInput, sources: [ModelInput]?, unitLocations: UnitLocations?, subspaces: Subspaces?) throws -> InterventionPass {
        let batch = base.batchSize
        for (k, s) in (sources ?? []).enumerated() where s.batchSize != batch {
            throw ConfigurationError.invalidField(field: "sources[\(k)]", value: "batch size \(s.batchSize)", allowed: "the base batch size \(batch)")
        }
        let n = interventions.count
        let locations = unitLocations?.interventions ?? Array(repeating: InterventionLocations(source: nil, base: nil), count: n)
        guard locations.count == n else {
            throw ConfigurationError.invalidField(field: "unit_locations", value: "\(locations.count) interventions", allowed: "one entry per representation (\(n))")
        }
        var states: [InterventionState] = []
        for (i, l) in locations.enumerated() {
            states.append(try state(i, locations: l, base: base))
        }
        if let subspaces {
            guard subspaces.count == n else {
                throw ConfigurationError.invalidField(field: "subspaces", value: "\(subspaces.count) entries", allowed: "one entry per representation (\(n))")
            }
            for (i, entry) in subspaces.enumerated() {
                guard let rows = entry else { continue }
                guard rows.count == batch else {
                    throw ConfigurationError.invalidField(field: "subspaces[\(i)]", value: "\(rows.count) rows", allowed: "one row per example (batch size \(batch))")
                }
                states[i].subspaces = try resolveSubspaces(rows, representation: i)
            }
        }
        return InterventionPass(states: states)
    }

    /// The pass state of intervention i with its read and write locations. A recurrent site
    /// without base locations acts at every time step; its steps must lie inside the base.
    func state(_ i: Int, locations l: InterventionLocations, base: ModelInput) throws -> InterventionState {
        let batch = base.batchSize
        for (side, rows) in [("source", l.source), ("base", l.base)] {
            if let rows, rows.count != batch {
                throw ConfigurationError.invalidField(field: "unit_locations[\(i)].\(side)", value: "\(rows.count) examples", allowed: "batch size \(batch)")
            }
        }
        var state = InterventionState(readLocations: l.source ?? l.base, writeLocations: l.base)
        guard sites[i].unit == .timeStep else { return state }
        let steps = base.sequenceLength
        for (b, row) in (l.base ?? []).enumerated() {
            for t in row.positions ?? [] where t < 0 || t >= steps {
                throw ConfigurationError.invalidField(field: "unit_locations[\(i)].base", value: "time step \(t) of example \(b)",
                                                      allowed: "steps 0..<\(steps) of the base sequence")
            }
        }
        if l.base == nil {
            let all = Array(repeating: UnitLocation.positions(Array(0..<steps)), count: batch)
            state.writeLocations = all
            state.readLocations = l.source ?? all
        }
        return state
    }

    /// Partition ids → dimension indices.
    func resolveSubspaces(_ rows: [[Int]], representation i: Int) throws -> [[Int]] {
        guard let partition = config.representations[i].expandedPartition else { return rows }
        return try rows.enumerated().map { b, ids in
            try ids.flatMap { id -> [Int] in
                guard id >= 0 && id < partition.count else {
                    throw ConfigurationError.invalidField(field: "subspaces[\(i)][\(b)]", value: "\(id)", allowed: "partition ids 0..<\(partition.count)")
                }
                return partition[id]
            }
        }
    }

    /// Which source input feeds intervention i: its group's, or the only one.
    func sourceIndex(of i: Int, sources: [ModelInput]?) throws -> Int {
        guard let sources, !sources.isEmpty else {
            throw InterventionError.missingSource(intervention: "\(keys[i]) (\(interventions[i].typeName))")
        }
        if sources.count == 1 { return 0 }
        let g = groups.firstIndex { $0.contains(i) }!
        guard g < sources.count else {
            throw ConfigurationError.invalidField(field: "sources", value: "\(sources.count) inputs", allowed: "one per group (\(groups.count)) or a single one")
        }
        return g
    }
}
