import Models
import Tensors

/// The hooks of one model pass of an IntervenableModel: getters record source blocks, setters
/// apply interventions to the base, recorders capture module inputs for skips. Everything they
/// read and produce lives in the call's `InterventionPass`.
///
/// A setter whose site the model never reaches in a model call is an error
/// (`InterventionError.siteNotReached`), checked by `finishCalls`; getter-only passes may stop
/// early and are not checked.
final class InterventionHooks: ActivationHooks {
    let owner: IntervenableModel
    let pass: InterventionPass
    private var getters: [TapPoint: [Int]] = [:]
    private var setters: [TapPoint: [Int]] = [:]
    private var inputRecorders: [TapPoint: [Int]] = [:]
    /// Model calls begun with these hooks, the setters reached in the current one, and the first
    /// setter some call did not reach.
    private var calls = 0
    private var reached: Set<Int> = []
    private var missed: Int?

    init(owner: IntervenableModel, pass: InterventionPass) {
        self.owner = owner
        self.pass = pass
    }

    func addGetter(_ i: Int) {
        getters[point(i), default: []].append(i)
    }

    func addSetter(_ i: Int) {
        setters[point(i), default: []].append(i)
        if owner.interventions[i].sourceRequirement == .componentInput, let input = IntervenableModel.componentInputs[owner.config.representations[i].component] {
            inputRecorders[TapPoint(layer: owner.config.representations[i].layer, tap: input), default: []].append(i)
        }
    }

    func point(_ i: Int) -> TapPoint {
        TapPoint(layer: owner.config.representations[i].layer, tap: owner.sites[i].spec.tap)
    }

    /// Marks the start of a model call with these hooks.
    func beginCall() {
        if calls > 0 { noteMissedSetters() }
        reached = []
        calls += 1
    }

    /// Throws `siteNotReached` for the first setter that some model call did not reach.
    func finishCalls() throws {
        if calls > 0 { noteMissedSetters() }
        guard let i = missed else { return }
        let r = owner.config.representations[i]
        throw InterventionError.siteNotReached(key: owner.keys[i], site: "\(r.component.rawValue) of layer \(r.layer)")
    }

    private func noteMissedSetters() {
        guard missed == nil else { return }
        missed = setters.values.joined().filter { !reached.contains($0) }.min()
    }

    /// Getter-only passes (clean source runs) may stop once the deepest getter has fired;
    /// recurrent sites never stop early (their layers interleave with time steps).
    func canStop(afterLayer layer: Int) -> Bool {
        guard setters.isEmpty, inputRecorders.isEmpty, !getters.isEmpty else { return false }
        for (point, members) in getters where point.layer > layer || members.contains(where: { owner.sites[$0].spec.perTimeStep }) { return false }
        return true
    }

    func isActive(_ point: TapPoint) -> Bool {
        setters[point] != nil || getters[point] != nil || inputRecorders[point] != nil
    }

    func visit(_ point: TapPoint, step: Int?, _ activation: inout Tensor) throws {
        for i in setters[point] ?? [] { try set(i, step: step, &activation) }
        for i in inputRecorders[point] ?? [] { try recordInput(i, step: step, activation) }
        for i in getters[point] ?? [] { try get(i, step: step, activation) }
    }

    // MARK: Getters

    private func get(_ i: Int, step: Int?, _ activation: Tensor) throws {
        let access = owner.sites[i]
        if access.unit == .timeStep {
            guard let step else { return }
            recordRows(i, step: step, activation, locations: pass.states[i].readLocations)
            return
        }
        pass.states[i].sourceBlock = try access.gather(activation, pass.states[i].readLocations)
    }

    /// RepresentationUnit "t": stores example b's row at every unit j whose location is this step.
    private func recordRows(_ i: Int, step: Int, _ activation: Tensor, locations: [UnitLocation]?) {
        for (b, unit) in rows(atStep: step, batch: activation.shape[0], locations: locations) {
            pass.states[i].sourceRows[b, default: [:]][unit] = activation.narrowed(0, start: b, length: 1).reshaped([activation.shape[1]])
        }
    }

    /// (example, unit) of every location that is `step`; without locations, every example at
    /// unit `step`.
    private func rows(atStep step: Int, batch: Int, locations: [UnitLocation]?) -> [(example: Int, unit: Int)] {
        var rows: [(example: Int, unit: Int)] = []
        for b in 0..<batch {
            let steps = locations?[b].positions ?? [step]
            for (j, t) in steps.enumerated() where t == step { rows.append((b, locations == nil ? step : j)) }
        }
        return rows
    }

    private func recordInput(_ i: Int, step: Int?, _ activation: Tensor) throws {
        // The module input of a skipped component: the same units as the write locations.
        let access = owner.sites[i]
        if access.unit == .timeStep {
            if let step { recordRows(i, step: step, activation, locations: pass.states[i].writeLocations) }
            return
        }
        pass.states[i].sourceBlock = try access.gather(activation, pass.states[i].writeLocations)
    }

    // MARK: Setters

    private func set(_ i: Int, step: Int?, _ activation: inout Tensor) throws {
        let access = owner.sites[i]
        if access.unit == .timeStep {
            guard let step else { return }
            reached.insert(i)
            try setRows(i, step: step, &activation)
            return
        }
        reached.insert(i)
        let state = pass.states[i]
        let baseBlock = try access.gather(activation, state.writeLocations)
        let source = try sourceBlock(i, like: baseBlock)
        let output = try applyIntervention(i, base: baseBlock, source: source, subspaces: state.subspaces)
        activation = try access.scatter(activation, state.writeLocations, output)
    }

    /// RepresentationUnit "t": intervenes on the rows of examples whose location includes this
    /// step (every example when the intervention acts on every time step).
    private func setRows(_ i: Int, step: Int, _ activation: inout Tensor) throws {
        let intervention = owner.interventions[i]
        let state = pass.states[i]
        let batch = activation.shape[0]
        let rows = intervention.actsOnEveryTimeStep ? (0..<batch).map { (example: $0, unit: step) } : rows(atStep: step, batch: batch, locations: state.writeLocations)
        guard !rows.isEmpty else { return }
        let examples = rows.map(\.example)
        let everyExample = examples == Array(0..<batch)
        let baseRows = everyExample ? activation : activation.indexSelect(axis: 0, indices: examples)
        var source = constantSource(i, like: baseRows)
        if source == nil && intervention.sourceRequirement != .none {
            source = Tensor.stack(try rows.map { row -> Tensor in
                guard let r = state.sourceRows[row.example]?[row.unit] else {
                    throw ConfigurationError.invalidField(field: "unit_locations[\(i)]", value: "no source step for example \(row.example)",
                                                          allowed: "source steps inside the source sequence")
                }
                return r
            }, axis: 0)
        }
        let rowSubspaces = state.subspaces.map { s in examples.map { s[$0] } }
        let output = try applyIntervention(i, base: baseRows, source: source, subspaces: rowSubspaces)
        activation = everyExample ? output
            : activation.unsqueezed(0).scatteringPerExample(axis: 1, indices: [examples], values: output.unsqueezed(0)).squeezed(0)
    }

    /// Representation i's fixed source vector (`source_representation`), broadcast to `block`.
    private func constantSource(_ i: Int, like block: Tensor) -> Tensor? {
        owner.config.representations[i].sourceRepresentation.map { Tensor($0).broadcast(to: block.shape).contiguous() }
    }

    /// The source block of intervention i, shaped like the base block.
    private func sourceBlock(_ i: Int, like baseBlock: Tensor) throws -> Tensor? {
        let intervention = owner.interventions[i]
        if let constant = constantSource(i, like: baseBlock) { return constant }
        if intervention.sourceRequirement == .none { return nil }
        guard let block = pass.states[i].sourceBlock else { throw InterventionError.missingSource(intervention: "\(owner.keys[i]) (\(intervention.typeName))") }
        guard block.count == baseBlock.count else {
            throw ConfigurationError.invalidField(field: "unit_locations[\(i)]", value: "source block \(block.shape) vs base block \(baseBlock.shape)",
                                                  allowed: "source and base locations selecting the same number of units")
        }
        return block.shape == baseBlock.shape ? block : block.reshaped(baseBlock.shape)
    }

    /// Flattens for distributed interventions, checks widths, applies, records the result's
    /// losses and side outputs in the pass, and returns the new block in the base's shape.
    private func applyIntervention(_ i: Int, base: Tensor, source: Tensor?, subspaces: [[Int]]?) throws -> Tensor {
        let intervention = owner.interventions[i]
        let name = "\(owner.keys[i]) (\(intervention.typeName))"
        let flat = intervention.form == .flattened
        let b = flat ? SiteAccess.flatten(base) : base
        let s = flat ? source.map(SiteAccess.flatten) : source
        if let expected = intervention.embedDimension, b.shape[b.rank - 1] != expected {
            throw InterventionError.dimensionMismatch(intervention: name,
                                                      field: "the block width at \(owner.config.representations[i].component.rawValue) (unit dimension × units)",
                                                      expected: expected, actual: b.shape[b.rank - 1])
        }
        let result = try intervention.apply(base: b, source: s, subspaces: subspaces,
                                            tap: SideOutputTap(probes: pass.sideOutputProbes, key: owner.keys[i]))
        guard result.output.shape == b.shape else {
            throw InterventionError.dimensionMismatch(intervention: name, field: "the output's element count (output \(result.output.shape), block \(b.shape))",
                                                      expected: b.count, actual: result.output.count)
        }
        try pass.states[i].record(result, key: owner.keys[i])
        return flat ? SiteAccess.unflatten(result.output, to: base.shape) : result.output
    }
}
