import Models
import Tensors

/// The hooks one forward pass of an IntervenableModel installs: getters record source blocks,
/// setters apply interventions to the base, recorders capture module inputs for skips.
final class InterventionHooks: ActivationHooks {
    let owner: IntervenableModel
    private var getters: [TapPoint: [Int]] = [:]
    private var setters: [TapPoint: [Int]] = [:]
    private var inputRecorders: [TapPoint: [Int]] = [:]
    /// Per intervention: where to read (getters) and write (setters).
    var readLocations: [Int: [UnitLocation]?] = [:]
    var writeLocations: [Int: [UnitLocation]?] = [:]
    /// Per intervention, per example: resolved subspace indices.
    var subspaces: [Int: [[Int]]] = [:]
    /// Source blocks (non-recurrent units) and source rows (unit "t": example → unit → row).
    var sourceBlocks: [Int: Tensor] = [:]
    var sourceRows: [Int: [Int: [Int: Tensor]]] = [:]
    /// Collected activations per intervention, in the order they were produced.
    var collected: [Int: [Tensor]] = [:]
    /// When false, setters do nothing (generation steps outside the schedule).
    var settersEnabled = true

    init(owner: IntervenableModel) {
        self.owner = owner
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
        if settersEnabled {
            for i in setters[point] ?? [] { try set(i, step: step, &activation) }
            for i in inputRecorders[point] ?? [] { try recordInput(i, step: step, activation) }
        }
        for i in getters[point] ?? [] { try get(i, step: step, activation) }
    }

    // MARK: Getters

    private func get(_ i: Int, step: Int?, _ activation: Tensor) throws {
        let access = owner.sites[i]
        if access.unit == .timeStep {
            guard let step else { return }
            recordRows(i, step: step, activation, locations: readLocations[i] ?? nil)
            return
        }
        sourceBlocks[i] = try access.gather(activation, readLocations[i] ?? nil)
    }

    /// RepresentationUnit "t": stores example b's row at every unit j whose location is this step.
    private func recordRows(_ i: Int, step: Int, _ activation: Tensor, locations: [UnitLocation]?) {
        let batch = activation.shape[0]
        for b in 0..<batch {
            let steps = locations?[b].positions ?? [step]
            for (j, t) in steps.enumerated() where t == step {
                sourceRows[i, default: [:]][b, default: [:]][locations == nil ? step : j] =
                    activation.narrowed(0, start: b, length: 1).reshaped([activation.shape[1]])
            }
        }
    }

    private func recordInput(_ i: Int, step: Int?, _ activation: Tensor) throws {
        // The module input of a skipped component: the same units as the write locations.
        let access = owner.sites[i]
        if access.unit == .timeStep {
            if let step { recordRows(i, step: step, activation, locations: writeLocations[i] ?? nil) }
            return
        }
        sourceBlocks[i] = try access.gather(activation, writeLocations[i] ?? nil)
    }

    // MARK: Setters

    private func set(_ i: Int, step: Int?, _ activation: inout Tensor) throws {
        let access = owner.sites[i]
        let intervention = owner.interventions[i]
        let locations = writeLocations[i] ?? nil
        if access.unit == .timeStep {
            guard let step else { return }
            try setRows(i, step: step, &activation, locations: locations)
            return
        }
        let baseBlock = try access.gather(activation, locations)
        if let collector = intervention as? CollectIntervention {
            collected[i, default: []].append(try collector.collect(base: baseBlock, subspaces: subspaces[i]).detachedIfNoGrad())
            return
        }
        let source = try sourceBlock(i, like: baseBlock)
        let result = try applyIntervention(i, base: baseBlock, source: source, subspaces: subspaces[i])
        activation = try access.scatter(activation, locations, result)
    }

    /// RepresentationUnit "t": intervenes on the rows of examples whose location includes this step.
    private func setRows(_ i: Int, step: Int, _ activation: inout Tensor, locations: [UnitLocation]?) throws {
        let intervention = owner.interventions[i]
        if let collector = intervention as? CollectIntervention {
            // pyvene records a recurrent site at every step, whatever the locations.
            collected[i, default: []].append(try collector.collect(base: activation, subspaces: subspaces[i]))
            return
        }
        var rows: [(example: Int, unit: Int)] = []
        for b in 0..<activation.shape[0] {
            let steps = locations?[b].positions ?? [step]
            for (j, t) in steps.enumerated() where t == step { rows.append((b, locations == nil ? step : j)) }
        }
        guard !rows.isEmpty else { return }
        let examples = rows.map(\.example)
        let baseRows = activation.indexSelect(axis: 0, indices: examples)
        var source = constantSource(i, like: baseRows)
        if source == nil && intervention.sourceRequirement != .none {
            let recorded = try rows.map { row -> Tensor in
                guard let r = sourceRows[i]?[row.example]?[row.unit] else {
                    throw ConfigurationError.invalidField(field: "unit_locations[\(i)]", value: "no source step for example \(row.example)",
                                                          allowed: "source steps inside the source sequence")
                }
                return r
            }
            source = Tensor.stack(recorded, axis: 0)
        }
        let rowSubspaces = subspaces[i].map { s in examples.map { s[$0] } }
        let result = try applyIntervention(i, base: baseRows, source: source, subspaces: rowSubspaces)
        activation = activation.unsqueezed(0).scatteringPerExample(axis: 1, indices: [examples], values: result.unsqueezed(0)).squeezed(0)
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
        guard let block = sourceBlocks[i] else { throw InterventionError.missingSource(intervention: "\(owner.keys[i]) (\(intervention.typeName))") }
        guard block.count == baseBlock.count else {
            throw ConfigurationError.invalidField(field: "unit_locations[\(i)]", value: "source block \(block.shape) vs base block \(baseBlock.shape)",
                                                  allowed: "source and base locations selecting the same number of units")
        }
        return block.shape == baseBlock.shape ? block : block.reshaped(baseBlock.shape)
    }

    /// Flattens for distributed interventions, checks widths, applies, restores the shape.
    private func applyIntervention(_ i: Int, base: Tensor, source: Tensor?, subspaces: [[Int]]?) throws -> Tensor {
        let intervention = owner.interventions[i]
        let flat = intervention.form == .flattened
        let b = flat ? SiteAccess.flatten(base) : base
        let s = flat ? source.map(SiteAccess.flatten) : source
        if let expected = intervention.embedDimension, b.shape[b.rank - 1] != expected {
            throw InterventionError.dimensionMismatch(intervention: "\(owner.keys[i]) (\(intervention.typeName))",
                                                      field: "the block width at \(owner.config.representations[i].component.rawValue) (unit dimension × units)",
                                                      expected: expected, actual: b.shape[b.rank - 1])
        }
        let out = try intervention.apply(base: b, source: s, subspaces: subspaces)
        return flat ? SiteAccess.unflatten(out, to: base.shape) : out
    }
}

extension Tensor {
    /// Detached when gradients are off (collected activations never keep a graph alive then).
    func detachedIfNoGrad() -> Tensor { GradientMode.enabled ? self : detached() }
}
