import Testing
@testable import Intervene
import Models
import Tensors

/// pyvene's autoencoder interventions: the math, gradients through `apply`, and bad settings.
@Suite struct AutoencoderInterventionTests {
    @Test func reluAutoencoderInterchangesTheChosenLatents() throws {
        let sae = try AutoencoderIntervention(width: 4, latents: 6, latentIndices: [1, 4], seed: 3)
        sae.encoderBias.assign(Tensor.randomNormal([6], std: 0.3, seed: 9))
        let base = Tensor.randomNormal([2, 1, 4], seed: 1), source = Tensor.randomNormal([2, 1, 4], seed: 2)
        let out = try sae.apply(base: base, source: source, subspaces: nil)
        let zb = sae.encode(base), zs = sae.encode(source)
        let m = Tensor([0, 1, 0, 0, 1, 0]).reshaped([1, 1, 6])
        let expected = (zb * (1 - m) + zs * m).linear(weight: sae.decoderWeight.value, bias: sae.decoderBias.value)
        #expect(maxDifference(out.output, expected) < 1e-6)
        #expect(out.sideOutputs["latents"]!.shape == [2, 1, 6] && zb.scalars.allSatisfy { $0 >= 0 })
        // With no latent chosen, the output is the reconstruction of the base.
        let none = try AutoencoderIntervention(width: 4, latents: 6, latentIndices: [], seed: 3)
        #expect(maxDifference(try none.apply(base: base, source: source, subspaces: nil).output,
                              none.encode(base).linear(weight: none.decoderWeight.value, bias: none.decoderBias.value)) < 1e-6)
    }

    @Test func gradientsFlowToEveryTrainedParameter() throws {
        let base = Tensor.randomNormal([2, 1, 4], seed: 1), source = Tensor.randomNormal([2, 1, 4], seed: 2)
        let relu = try AutoencoderIntervention(width: 4, latents: 5, latentIndices: [0, 2], seed: 4)
        relu.encoderBias.assign(Tensor.randomNormal([5], std: 0.5, seed: 5))
        let jump = try JumpReLUAutoencoderIntervention(width: 4, latents: 5, interchangeDimension: 2, seed: 6)
        jump.threshold.assign(Tensor(shape: [5], values: [0.05, 0.1, 0.0, 0.2, 0.1]))
        let checks = TrainableInterventionTests()
        for (name, p) in relu.namedParameters {
            try checks.checkParameterGradient(p, name) { try relu.apply(base: base, source: source, subspaces: nil).output }
        }
        for (name, p) in jump.namedParameters where name != "threshold" {
            try checks.checkParameterGradient(p, name) { try jump.apply(base: base, source: source, subspaces: nil).output }
        }
        // The threshold gets no gradient (the step is flat almost everywhere), as in pyvene.
        jump.threshold.zeroGrad()
        try jump.apply(base: base, source: source, subspaces: nil).output.sum().backward()
        #expect(jump.threshold.grad == nil)
    }

    @Test func badSettingsAreNamed() throws {
        #expect(throws: InterventionError.invalidHyperparameter(type: "AutoencoderIntervention", field: "latent_indices", value: "9",
                                                                allowed: "latent indices in 0..<6")) {
            try AutoencoderIntervention(width: 4, latents: 6, latentIndices: [1, 9], seed: 0)
        }
        #expect(throws: InterventionError.invalidHyperparameter(type: "JumpReLUAutoencoderIntervention", field: "interchange_dim", value: "7",
                                                                allowed: "0...6")) {
            try JumpReLUAutoencoderIntervention(width: 4, latents: 6, interchangeDimension: 7, seed: 0)
        }
        let model = tinyGPT2()
        let config = IntervenableConfig(RepresentationConfig(layer: 0, component: .blockOutput, interventionType: .autoencoder))
        #expect(throws: InterventionError.invalidHyperparameter(type: "AutoencoderIntervention", field: "latent_dim", value: "missing",
                                                                allowed: "an integer ≥ 1")) {
            try IntervenableModel(config: config, model: model)
        }
    }
}
