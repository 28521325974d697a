import Foundation
import Testing
@testable import Intervene
import Models
import Tensors

/// An intervention whose site the model never reached is an error, not a silent no-op.
@Suite struct SiteReachTests {
    @Test func unreachedSiteNamesTheKeyAndTheSite() throws {
        let truncated = TruncatedHooksModel(tinyGPT2(), maxLayer: 0)
        let config = IntervenableConfig(representations: [RepresentationConfig(layer: 0, component: .blockOutput),
                                                          RepresentationConfig(layer: 1, component: .mlpOutput)],
                                        interventionTypes: .zero)
        let im = try IntervenableModel(config: config, model: truncated)
        #expect(throws: InterventionError.siteNotReached(key: im.keys[1], site: "mlp_output of layer 1")) {
            try im.forward(base: .tokens(baseTokens), unitLocations: .position(2, batchSize: 2, interventions: 2))
        }
        // Sites the model does reach are fine.
        let reachable = try IntervenableModel(config: IntervenableConfig(RepresentationConfig(layer: 0, component: .mlpOutput), interventionType: .zero),
                                              model: truncated)
        _ = try reachable.forward(base: .tokens(baseTokens), unitLocations: .position(2, batchSize: 2))
    }

    /// Source runs stop after the deepest getter; that is not an unreached site.
    @Test func sourceRunsMayStopEarly() throws {
        let counting = CountingModel(tinyGPT2())
        let im = try IntervenableModel(config: IntervenableConfig(RepresentationConfig(layer: 0, component: .blockOutput), interventionType: .vanilla),
                                       model: counting)
        let out = try im.forward(base: .tokens(baseTokens), sources: [.tokens(sourceTokens)], unitLocations: .position(2, batchSize: 2))
        #expect(counting.calls == 2)
        #expect(out.intervened.logits.shape == [2, 6, 40])
    }

    /// Generation calls outside the schedule carry no hooks, so they need not reach anything.
    @Test func generationStepsOutsideTheScheduleAreNotChecked() throws {
        let config = IntervenableConfig(RepresentationConfig(layer: 1, component: .blockOutput, sourceRepresentation: Array(repeating: 1, count: 16)),
                                        interventionType: .addition)
        let im = try IntervenableModel(config: config, model: tinyGPT2())
        let result = try im.generate(prompt: ids([[1, 2, 3]]), unitLocations: .base([[2]]), timing: .generatedTokens { $0 == 3 },
                                     config: GenerationConfig(maxNewTokens: 4))
        #expect(result.intervened.sequences[0].count == 7)
    }

    @Test func recurrentStepsOutsideTheSequenceAreRefused() throws {
        let gru = tinyGRU()
        let im = try IntervenableModel(config: IntervenableConfig(RepresentationConfig(layer: 0, component: .cellOutput, unit: .timeStep), interventionType: .zero),
                                       model: gru)
        do {
            _ = try im.forward(base: gruInput(steps: 3), unitLocations: .base([[1], [3]]))
            Issue.record("expected an error for step 3 of a 3-step sequence")
        } catch let ConfigurationError.invalidField(field, value, _) {
            #expect(field == "unit_locations[0].base" && value == "time step 3 of example 1")
        }
        // Located steps inside the sequence act only there.
        let plain = try gru.forward(gruInput(steps: 3), options: ForwardOptions())
        let zeroed = try im.forward(base: gruInput(steps: 3), unitLocations: .base([[2], [2]]))
        #expect(maxDifference(plain.output, zeroed.intervened.output) > 0)
    }
}
