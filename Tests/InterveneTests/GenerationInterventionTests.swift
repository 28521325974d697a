import Foundation
import Testing
@testable import Intervene
import Models
import Tensors

@Suite struct GenerationInterventionTests {
    @Test func promptInterventionMatchesRerunningThePatchedSequence() throws {
        let model = tinyGPT2()
        let config = IntervenableConfig(RepresentationConfig(layer: 0, component: .blockOutput), interventionType: .vanilla)
        let im = try IntervenableModel(config: config, model: model)
        let prompt = ids([[1, 2, 3, 4, 5]])
        let source = ids([[9, 9, 9, 9, 9]])
        let generated = try im.generate(prompt: prompt, sources: [.tokens(source)], unitLocations: .position(2, batchSize: 1),
                                        config: GenerationConfig(maxNewTokens: 6), outputOriginal: true)
        // Without a cache: re-run the whole sequence each step with the same prompt patch.
        var sequence = prompt.values
        for _ in 0..<6 {
            let out = try im.forward(base: .tokens(ids([sequence])), sources: [.tokens(source)], unitLocations: UnitLocations.positions(source: [[2]], base: [[2]]))
            let last = out.intervened.logits.narrowed(1, start: sequence.count - 1, length: 1).reshaped([40])
            sequence.append(last.argmax().values[0])
        }
        #expect(generated.intervened.sequences[0] == sequence)
        #expect(maxDifference(generated.intervened.firstStepLogits, generated.original!.firstStepLogits) > 1e-4)
    }

    @Test func steeringEveryGeneratedTokenChangesTheContinuation() throws {
        let model = tinyGPT2()
        var g = RandomGenerator(seed: 4)
        let steer = Tensor.randomNormal([16], std: 3, using: &g).scalars
        let config = IntervenableConfig(RepresentationConfig(layer: 1, component: .blockOutput, sourceRepresentation: steer),
                                        interventionType: .addition)
        let im = try IntervenableModel(config: config, model: model)
        let prompt = ids([[1, 2, 3]])
        let plain = try Generator.generate(model, prompt: prompt, config: GenerationConfig(maxNewTokens: 8)).sequences[0]
        let steered = try im.generate(prompt: prompt, unitLocations: .base([[2]]), timing: .everyGeneratedToken,
                                      config: GenerationConfig(maxNewTokens: 8)).intervened.sequences[0]
        #expect(steered != plain)
        #expect(Array(steered.prefix(4)) == Array(plain.prefix(4)))  // the first new token comes from the un-steered prompt
        let onlyLater = try im.generate(prompt: prompt, unitLocations: .base([[2]]), timing: .generatedTokens { $0 >= 4 },
                                        config: GenerationConfig(maxNewTokens: 8)).intervened.sequences[0]
        #expect(Array(onlyLater.prefix(7)) == Array(plain.prefix(7)))
    }
}
