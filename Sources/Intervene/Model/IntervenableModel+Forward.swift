import Models
import Tensors

/// What an intervened forward pass returns.
public struct InterventionOutput {
    /// The base run without interventions (only when asked: it costs one more forward pass).
    public var original: ModelOutput?
    /// The base run with interventions.
    public var intervened: ModelOutput
    /// Activations gathered by collect interventions, in representation order (one tensor per
    /// collect intervention; recurrent sites stacked per step as (S, B, d)).
    public var collected: [Tensor]
}

extension IntervenableModel {
    /// Runs the base input with every intervention applied.
    ///
    /// - Parameters:
    ///   - base: the input whose run is intervened on.
    ///   - sources: one input per group (or one for all groups). Each distinct source runs once.
    ///   - unitLocations: where each intervention reads and writes, per example (nil: whole).
    ///   - subspaces: per intervention, per example, the dimensions (or partition ids) it touches.
    ///   - sourceActivations: precomputed source blocks by representation index (skips the
    ///     source run for those interventions).
    ///   - outputOriginal: also return the un-intervened base output.
    ///   - options: forward options of the base run (attention mask, cache, …).
    public func forward(base: ModelInput, sources: [ModelInput]? = nil, unitLocations: UnitLocations? = nil,
                        subspaces: Subspaces? = nil, sourceActivations: [Int: Tensor] = [:], outputOriginal: Bool = false,
                        options: ForwardOptions = ForwardOptions()) throws -> InterventionOutput {
        let hooks = try prepareHooks(base: base, sources: sources, unitLocations: unitLocations, subspaces: subspaces)
        for (i, block) in sourceActivations { hooks.sourceBlocks[i] = block }
        let needsSource = sourceNeeds(sourceActivations: sourceActivations)
        if config.mode == .parallel {
            try runSourcePasses(hooks, needsSource: needsSource, sources: sources)
        }
        var baseOptions = options
        let intervened: ModelOutput
        if config.mode == .serial {
            intervened = try runSerial(hooks, base: base, sources: sources, needsSource: needsSource, options: options)
        } else {
            for i in interventions.indices { hooks.addSetter(i) }
            baseOptions.hooks = hooks
            intervened = try model.forward(base, options: baseOptions)
        }
        let original = outputOriginal ? try model.forward(base, options: options) : nil
        return InterventionOutput(original: original, intervened: intervened, collected: collectedList(hooks))
    }

    /// Collect results in representation order.
    func collectedList(_ hooks: InterventionHooks) -> [Tensor] {
        interventions.indices.compactMap { i -> Tensor? in
            guard let list = hooks.collected[i], !list.isEmpty else { return nil }
            return list.count == 1 ? list[0] : Tensor.stack(list, axis: 0)
        }
    }

    /// Interventions that read a source input (not constant, not source-less, not precomputed).
    func sourceNeeds(sourceActivations: [Int: Tensor]) -> [Int] {
        interventions.indices.filter { i in
            interventions[i].sourceRequirement == .source && config.representations[i].sourceRepresentation == nil && sourceActivations[i] == nil
        }
    }

    /// Validates inputs and fills the hook tables shared by every pass.
    func prepareHooks(base: ModelInput, sources: [ModelInput]?, unitLocations: UnitLocations?, subspaces: Subspaces?) throws -> InterventionHooks {
        let batch = base.batchSize
        for (k, s) in (sources ?? []).enumerated() where s.batchSize != batch {
            throw ConfigurationError.invalidField(field: "sources[\(k)]", value: "batch size \(s.batchSize)", allowed: "the base batch size \(batch)")
        }
        let hooks = InterventionHooks(owner: self)
        let n = interventions.count
        let locations = unitLocations?.interventions ?? Array(repeating: InterventionLocations(source: nil, base: nil), count: n)
        guard locations.count == n else {
            throw ConfigurationError.invalidField(field: "unit_locations", value: "\(locations.count) interventions", allowed: "one entry per representation (\(n))")
        }
        for i in 0..<n {
            let l = locations[i]
            for (side, rows) in [("source", l.source), ("base", l.base)] {
                if let rows, rows.count != batch {
                    throw ConfigurationError.invalidField(field: "unit_locations[\(i)].\(side)", value: "\(rows.count) examples", allowed: "batch size \(batch)")
                }
            }
            if sites[i].unit == .timeStep, let rows = l.base { try checkTimeSteps(rows, length: base.sequenceLength, representation: i) }
            hooks.writeLocations[i] = l.base
            hooks.readLocations[i] = .some(l.source ?? l.base)
            if sites[i].unit == .timeStep && l.base == nil {
                let all = Array(repeating: UnitLocation.positions(Array(0..<base.sequenceLength)), count: batch)
                hooks.writeLocations[i] = all
                hooks.readLocations[i] = l.source ?? all
            }
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
                hooks.subspaces[i] = try resolveSubspaces(rows, representation: i)
            }
        }
        return hooks
    }

    /// Recurrent (unit "t") base locations must name steps of the base sequence; a step past
    /// its end would otherwise never be intervened on, silently.
    func checkTimeSteps(_ rows: [UnitLocation], length: Int, representation i: Int) throws {
        for (b, row) in rows.enumerated() {
            for step in row.positions ?? [] where step < 0 || step >= length {
                throw ConfigurationError.invalidField(field: "unit_locations[\(i)].base time step of example \(b)", value: "\(step)",
                                                      allowed: "0..<\(length) (the base sequence length)")
            }
        }
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

    /// Parallel mode: one clean forward per distinct source input, recording source blocks.
    func runSourcePasses(_ hooks: InterventionHooks, needsSource: [Int], sources: [ModelInput]?) throws {
        var bySource: [Int: [Int]] = [:]
        for i in needsSource { bySource[try sourceIndex(of: i, sources: sources), default: []].append(i) }
        for (index, members) in bySource.sorted(by: { $0.key < $1.key }) {
            let getterHooks = InterventionHooks(owner: self)
            getterHooks.readLocations = hooks.readLocations
            for i in members { getterHooks.addGetter(i) }
            _ = try Tensor.withoutGradients { try model.forward(sources![index], options: ForwardOptions(hooks: getterHooks)) }
            for (i, block) in getterHooks.sourceBlocks { hooks.sourceBlocks[i] = block }
            for (i, rows) in getterHooks.sourceRows { hooks.sourceRows[i] = rows }
        }
    }

    /// Serial mode: source 0 → source 1 → … → base; group g reads from source g (already
    /// intervened on by group g − 1) and writes into the next input.
    func runSerial(_ hooks: InterventionHooks, base: ModelInput, sources: [ModelInput]?, needsSource: [Int], options: ForwardOptions) throws -> ModelOutput {
        let inputs = sources ?? []
        guard inputs.count == groups.count || needsSource.isEmpty else {
            throw ConfigurationError.invalidField(field: "sources", value: "\(inputs.count) inputs", allowed: "one per group (\(groups.count)) in serial mode")
        }
        var previous: [Int] = []
        for (g, members) in groups.enumerated() where g < inputs.count {
            let pass = InterventionHooks(owner: self)
            pass.readLocations = hooks.readLocations
            pass.writeLocations = hooks.writeLocations
            pass.subspaces = hooks.subspaces
            pass.sourceBlocks = hooks.sourceBlocks
            pass.sourceRows = hooks.sourceRows
            for i in previous { pass.addSetter(i) }
            for i in members where needsSource.contains(i) { pass.addGetter(i) }
            _ = try model.forward(inputs[g], options: ForwardOptions(hooks: pass))
            for (i, block) in pass.sourceBlocks { hooks.sourceBlocks[i] = block }
            for (i, rows) in pass.sourceRows { hooks.sourceRows[i] = rows }
            previous = members
        }
        for i in (groups.last ?? []) { hooks.addSetter(i) }
        var baseOptions = options
        baseOptions.hooks = hooks
        return try model.forward(base, options: baseOptions)
    }
}
