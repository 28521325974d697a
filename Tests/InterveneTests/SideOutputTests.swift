import Foundation
import Testing
@testable import Intervene
import Models
import Tensors

/// Side outputs come back per intervention key, and a representation's collected value stays
/// with that representation.
@Suite struct SideOutputTests {
    /// The block output of `layer` at every position of the plain base run.
    func blockOutput(_ model: DecoderModel, layer: Int) throws -> Tensor {
        let site = Site(layer: layer, component: .blockOutput)
        return try model.runWithCache(.tokens(baseTokens), sites: [site]).cache[site]!
    }

    @Test func collectAndCustomSideOutputsArriveUnderTheirKeys() throws {
        let model = tinyGPT2()
        let config = IntervenableConfig(representations: [RepresentationConfig(layer: 1, component: .blockOutput, maxNumberOfUnits: 6, interventionType: .collect),
                                                          RepresentationConfig(layer: 0, component: .blockOutput, maxNumberOfUnits: 6)])
        let norms = ClosureIntervention(needsSource: false, result: { base, _, _ in
            InterventionResult(base, sideOutputs: ["norm": base.square().sum(axis: -1).sqrt()])
        })
        let im = try IntervenableModel(config: config, model: model, prebuilt: [1: norms])
        let all = Array(0..<6)
        let out = try im.forward(base: .tokens(baseTokens), unitLocations: .base([all, all], interventions: 2))
        #expect(Set(out.sideOutputs.keys) == Set(im.keys))
        #expect(out.sideOutputs[im.keys[0]]?.keys.sorted() == ["collected"])
        #expect(maxDifference(out.sideOutputs[im.keys[0]]!["collected"]!, try blockOutput(model, layer: 1)) == 0)
        #expect(maxDifference(out.sideOutputs[im.keys[1]]!["norm"]!, try blockOutput(model, layer: 0).square().sum(axis: -1).sqrt()) < 1e-6)
        #expect(try out.sideOutput("norm", representation: 1).shape == [2, 6])
        // The model's output is untouched: both interventions return their block as is.
        #expect(maxDifference(out.intervened.logits, try model(.tokens(baseTokens)).logits) == 0)
        #expect(out.auxiliaryLosses.isEmpty)
    }

    /// Generation reports the side outputs of the prompt's pass and, stacked by step, of the
    /// scheduled generated tokens' passes.
    @Test func generationReportsSideOutputsOfPromptAndSteps() throws {
        let model = tinyGPT2()
        let config = IntervenableConfig(RepresentationConfig(layer: 1, component: .blockOutput), interventionType: .collect)
        let im = try IntervenableModel(config: config, model: model)
        let prompt = ids([[1, 2, 3, 4]])
        let generated = try im.generate(prompt: prompt, unitLocations: .base([[3]]), timing: .promptAndGeneratedTokens { $0 <= 2 },
                                        config: GenerationConfig(maxNewTokens: 4))
        let key = im.keys[0]
        let onPrompt = try #require(generated.promptSideOutputs[key]?["collected"])
        #expect(onPrompt.shape == [1, 1, 16])
        let site = Site(layer: 1, component: .blockOutput)
        let cached = try model.runWithCache(.tokens(prompt), sites: [site]).cache[site]!
        #expect(maxDifference(onPrompt, cached.narrowed(1, start: 3, length: 1)) < 1e-6)
        // Steps 1 and 2 were scheduled: two (1, 1, 16) blocks stacked.
        #expect(generated.stepSideOutputs[key]?["collected"]?.shape == [2, 1, 1, 16])
    }

    @Test func collectedValuesAreKeyedByRepresentation() throws {
        let model = tinyGPT2()
        let config = IntervenableConfig(representations: [RepresentationConfig(layer: 0, component: .mlpOutput, interventionType: .zero),
                                                          RepresentationConfig(layer: 1, component: .blockOutput, interventionType: .collect),
                                                          RepresentationConfig(layer: 0, component: .blockInput, interventionType: .collect)])
        let im = try IntervenableModel(config: config, model: model)
        let out = try im.forward(base: .tokens(baseTokens), unitLocations: .position(2, batchSize: 2, interventions: 3))
        // Representation 0 collects nothing, so nothing moves into its slot.
        #expect(throws: InterventionError.missingSideOutput(key: im.keys[0], name: "collected", available: [])) { try out.collected(0) }
        let embedding = try model.runWithCache(.tokens(baseTokens), sites: [Site(layer: 0, component: .blockInput)]).cache[Site(layer: 0, component: .blockInput)]!
        #expect(maxDifference(try out.collected(2), embedding.narrowed(1, start: 2, length: 1)) == 0)
        #expect(try out.collected(1).shape == [2, 1, 16])
        #expect(throws: ConfigurationError.self) { try out.collected(3) }
    }

    /// Serial mode used to skip the groups without an input and shift the later collected
    /// values into their slots; now that call is refused.
    @Test func serialGroupsWithoutInputsAreRefusedInsteadOfShifting() throws {
        let config = IntervenableConfig(representations: [RepresentationConfig(layer: 0, component: .blockOutput),
                                                          RepresentationConfig(layer: 1, component: .blockOutput)],
                                        interventionTypes: .collect, mode: .serial)
        let im = try IntervenableModel(config: config, model: tinyGPT2())
        #expect(throws: ConfigurationError.self) { try im.forward(base: .tokens(baseTokens), unitLocations: .position(2, batchSize: 2, interventions: 2)) }
    }

    @Test func recurrentCollectStacksEveryStep() throws {
        let gru = tinyGRU()
        let im = try IntervenableModel(config: IntervenableConfig(RepresentationConfig(layer: 0, component: .cellOutput, unit: .timeStep), interventionType: .collect),
                                       model: gru)
        // pyvene's collect records every step whatever the locations.
        let out = try im.forward(base: gruInput(), unitLocations: .base([[1], [1]]))
        #expect(try out.collected(0).shape == [3, 2, 4])
    }

    /// Hooks passed in the forward options run after the interventions (they see the intervened
    /// activation); side-output probes record only what an intervention taps.
    @Test func callerHooksSeeTheIntervenedActivationAndProbesOnlyTappedOutputs() throws {
        let model = tinyGPT2()
        let config = IntervenableConfig(RepresentationConfig(layer: 0, component: .blockOutput), interventionType: .zero)
        let im = try IntervenableModel(config: config, model: model)
        var seen: Tensor?
        let hooks = HookRegistry()
        hooks.add(layer: 0, tap: .blockOutput) { a, _ in seen = a }
        var options = ForwardOptions()
        options.hooks = hooks
        let probes = SideOutputProbes()
        _ = try im.forward(base: .tokens(baseTokens), unitLocations: .base([[2], [3]]), options: options, sideOutputProbes: probes)
        let block = try #require(seen)
        #expect(block.narrowed(1, start: 2, length: 1).narrowed(0, start: 0, length: 1).abs().maxValue() == 0)
        #expect(block.narrowed(1, start: 2, length: 1).narrowed(0, start: 1, length: 1).abs().maxValue() > 0)
        #expect(probes.collect().isEmpty)  // the zero intervention computes nothing from a side output
    }
}
