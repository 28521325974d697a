import Models
import Tensors

/// When interventions act during generation.
public enum GenerationTiming {
    /// On the prompt's forward pass only (pyvene's `intervene_on_prompt=True`); later tokens are
    /// not intervened on but attend to the patched keys and values.
    case prompt
    /// On the generated tokens that `selector` picks (1 = the first new token's forward pass),
    /// writing at the new token's position.
    case generatedTokens(where: @Sendable (Int) -> Bool)
    /// On the prompt and on the selected generated tokens.
    case promptAndGeneratedTokens(where: @Sendable (Int) -> Bool)

    /// Every generated token.
    public static var everyGeneratedToken: GenerationTiming { .generatedTokens { _ in true } }

    var includesPrompt: Bool {
        switch self {
        case .prompt, .promptAndGeneratedTokens: return true
        case .generatedTokens: return false
        }
    }

    func includes(step: Int) -> Bool {
        switch self {
        case .prompt: return false
        case .generatedTokens(let selector), .promptAndGeneratedTokens(let selector): return selector(step)
        }
    }
}

/// Generation with and without interventions.
public struct InterventionGeneration {
    /// Without interventions (only when asked).
    public var original: GenerationResult?
    /// With interventions.
    public var intervened: GenerationResult
    /// Side outputs of the interventions on the prompt's pass, by intervention key, then name.
    public var promptSideOutputs: [String: [String: Tensor]] = [:]
    /// Side outputs of the interventions on the generated tokens' passes, by key, then name;
    /// one tensor per name with the scheduled steps stacked along a new leading axis.
    public var stepSideOutputs: [String: [String: Tensor]] = [:]
}

extension IntervenableModel {
    /// Generates from `prompt` with interventions applied as `timing` says. Sources run once,
    /// before generation; the key/value cache carries patched activations forward.
    public func generate(prompt: IndexTensor, sources: [ModelInput]? = nil, unitLocations: UnitLocations? = nil,
                         subspaces: Subspaces? = nil, attentionMask: [[Bool]]? = nil, timing: GenerationTiming = .prompt,
                         config generation: GenerationConfig, outputOriginal: Bool = false) throws -> InterventionGeneration {
        guard let decoder = model as? any CausalLanguageModel else {
            throw ConfigurationError.invalidField(field: "model", value: model.modelType, allowed: "a causal language model for generation")
        }
        guard config.mode == .parallel else {
            throw ConfigurationError.invalidField(field: "mode", value: "serial", allowed: "parallel for generation")
        }
        // Step interventions write at the new token of each call, which only a cached call feeds alone.
        guard generation.useCache else {
            throw ConfigurationError.invalidField(field: "useCache", value: "false", allowed: "true for intervened generation (the key/value cache carries patched activations forward)")
        }
        let base = ModelInput.tokens(prompt)
        let promptPass = try preparePass(base: base, sources: sources, unitLocations: unitLocations, subspaces: subspaces)
        try runSourcePasses(promptPass, needsSource: sourceNeeds(sourceActivations: [:]), sources: sources)
        let promptHooks = InterventionHooks(owner: self, pass: promptPass)
        let stepHooks = InterventionHooks(owner: self, pass: try stepPass(after: promptPass, batch: prompt.shape[0]))
        for i in interventions.indices {
            promptHooks.addSetter(i)
            stepHooks.addSetter(i)
        }
        // Calls outside the schedule get no hooks, so only scheduled calls must reach every site.
        let intervened = try Generator.generate(decoder, prompt: prompt, attentionMask: attentionMask, config: generation) { call in
            let hooks = call == 0 ? (timing.includesPrompt ? promptHooks : nil) : (timing.includes(step: call) ? stepHooks : nil)
            hooks?.beginCall()
            return hooks
        }
        try promptHooks.finishCalls()
        try stepHooks.finishCalls()
        let original = outputOriginal ? try Generator.generate(decoder, prompt: prompt, attentionMask: attentionMask, config: generation) : nil
        return InterventionGeneration(original: original, intervened: intervened,
                                      promptSideOutputs: results(of: promptPass).sideOutputs,
                                      stepSideOutputs: results(of: stepHooks.pass).sideOutputs)
    }

    /// The pass state of generated tokens: the prompt's sources and subspaces, written at the new
    /// token (position 0 of the step), keeping each example's heads.
    func stepPass(after promptPass: InterventionPass, batch: Int) throws -> InterventionPass {
        let step = InterventionPass(states: promptPass.states)
        for i in interventions.indices {
            let heads = promptPass.states[i].writeLocations?.map(\.heads)
            step.states[i].writeLocations = (0..<batch).map { b in UnitLocation(positions: [0], heads: heads?[b] ?? nil) }
            if let block = promptPass.states[i].sourceBlock, sites[i].unit == .position, block.shape[1] != 1 {
                throw ConfigurationError.invalidField(field: "unit_locations[\(i)].source", value: "\(block.shape[1]) positions",
                                                      allowed: "one source position when intervening on generated tokens (or a constant source)")
            }
        }
        return step
    }
}
