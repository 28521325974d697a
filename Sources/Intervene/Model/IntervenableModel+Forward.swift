import Models
import Tensors

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
    ///   - options: forward options of the base run (attention mask, cache, …); hooks given here
    ///     run after the interventions at each site (they see the intervened activation).
    ///   - sideOutputProbes: gradient probes on the interventions' side outputs (attribution):
    ///     after `backward()` on an objective of the output, `sideOutputProbes.collect()` holds
    ///     each tapped side output with its gradient.
    /// - Returns: the intervened output (and the original when asked), with each intervention's
    ///   side outputs and auxiliary losses under its key.
    /// - Throws: `InterventionError.siteNotReached` when the base run never reached a site an
    ///   intervention acts on; typed errors naming the field for inputs that do not fit.
    public func forward(base: ModelInput, sources: [ModelInput]? = nil, unitLocations: UnitLocations? = nil,
                        subspaces: Subspaces? = nil, sourceActivations: [Int: Tensor] = [:], outputOriginal: Bool = false,
                        options: ForwardOptions = ForwardOptions(), sideOutputProbes: SideOutputProbes? = nil) throws -> InterventionOutput {
        let pass = try preparePass(base: base, sources: sources, unitLocations: unitLocations, subspaces: subspaces)
        pass.sideOutputProbes = sideOutputProbes
        for (i, block) in sourceActivations {
            guard pass.states.indices.contains(i) else {
                throw ConfigurationError.invalidField(field: "sourceActivations", value: "representation \(i)", allowed: "representation indices 0..<\(pass.states.count)")
            }
            pass.states[i].sourceBlock = block
        }
        let needsSource = sourceNeeds(sourceActivations: sourceActivations)
        let intervened: ModelOutput
        if config.mode == .serial {
            intervened = try runSerial(pass, base: base, sources: sources, needsSource: needsSource, options: options)
        } else {
            try runSourcePasses(pass, needsSource: needsSource, sources: sources)
            intervened = try run(base, pass: pass, setters: Array(interventions.indices), options: options)
        }
        let original = outputOriginal ? try model.forward(base, options: options) : nil
        return output(of: pass, original: original, intervened: intervened)
    }

    /// The output of a finished call: side outputs and auxiliary losses per intervention key.
    func output(of pass: InterventionPass, original: ModelOutput?, intervened: ModelOutput) -> InterventionOutput {
        let (sideOutputs, losses) = results(of: pass)
        return InterventionOutput(original: original, intervened: intervened, sideOutputs: sideOutputs, auxiliaryLosses: losses, keys: keys)
    }

    /// Side outputs and auxiliary losses of a finished pass, by intervention key, then name.
    func results(of pass: InterventionPass) -> (sideOutputs: [String: [String: Tensor]], auxiliaryLosses: [String: [String: Tensor]]) {
        var sideOutputs: [String: [String: Tensor]] = [:], losses: [String: [String: Tensor]] = [:]
        for (key, state) in zip(keys, pass.states) {
            if !state.sideOutputs.isEmpty { sideOutputs[key] = state.combinedSideOutputs }
            if !state.auxiliaryLosses.isEmpty { losses[key] = state.combinedAuxiliaryLosses }
        }
        return (sideOutputs, losses)
    }

    /// One model pass over `input` with hooks on `pass`: setters for `setters`, getters for
    /// `getters`, then any hooks `options` carries. Throws when the model never reached a
    /// setter's site.
    func run(_ input: ModelInput, pass: InterventionPass, setters: [Int] = [], getters: [Int] = [],
             options: ForwardOptions = ForwardOptions()) throws -> ModelOutput {
        let hooks = InterventionHooks(owner: self, pass: pass)
        for i in setters { hooks.addSetter(i) }
        for i in getters { hooks.addGetter(i) }
        var withHooks = options
        withHooks.hooks = options.hooks.map { HookChain([hooks, $0]) } ?? hooks
        hooks.beginCall()
        let output = try model.forward(input, options: withHooks)
        try hooks.finishCalls()
        return output
    }

    /// Interventions that read a source input (not constant, not source-less, not precomputed).
    func sourceNeeds(sourceActivations: [Int: Tensor]) -> [Int] {
        interventions.indices.filter { i in
            interventions[i].sourceRequirement == .source && config.representations[i].sourceRepresentation == nil && sourceActivations[i] == nil
        }
    }

    /// Parallel mode: one clean forward per distinct source input, recording source blocks. A
    /// causal model's source pass runs only the positions its getters read (`SourcePrefix.swift`)
    /// and stops after the deepest getter's layer.
    func runSourcePasses(_ pass: InterventionPass, needsSource: [Int], sources: [ModelInput]?) throws {
        var bySource: [Int: [Int]] = [:]
        for i in needsSource { bySource[try sourceIndex(of: i, sources: sources), default: []].append(i) }
        for (index, members) in bySource.sorted(by: { $0.key < $1.key }) {
            var source = sources![index]
            if let length = sourcePrefixLength(members: members, pass: pass, sequenceLength: source.sequenceLength) {
                source = source.prefix(length)
            }
            _ = try Tensor.withoutGradients { try run(source, pass: pass, getters: members) }
        }
    }

    /// Serial mode: source 0 → source 1 → … → base; group g reads from source g (already
    /// intervened on by group g − 1) and writes into the next input.
    func runSerial(_ pass: InterventionPass, base: ModelInput, sources: [ModelInput]?, needsSource: [Int], options: ForwardOptions) throws -> ModelOutput {
        let inputs = sources ?? []
        // Group g writes into input g + 1 (the base after the last), so with fewer inputs than
        // groups some group would never act.
        let everyGroupActs = inputs.count >= groups.count || groups.count == 1
        guard (inputs.count == groups.count || needsSource.isEmpty) && everyGroupActs else {
            throw ConfigurationError.invalidField(field: "sources", value: "\(inputs.count) inputs",
                                                  allowed: "one per group (\(groups.count)) in serial mode; group g writes into input g + 1")
        }
        var previous: [Int] = []
        for (g, members) in groups.enumerated() where g < inputs.count {
            _ = try run(inputs[g], pass: pass, setters: previous, getters: members.filter(needsSource.contains))
            previous = members
        }
        return try run(base, pass: pass, setters: groups.last ?? [], options: options)
    }
}
