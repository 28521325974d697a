import Foundation
import Testing
import Features
import Intervene
import Models
import Tensors

/// The SAE intervention's latents tap: gradients with respect to the latents through
/// `SideOutputProbes` match finite differences of a latent edit, and probing leaves the forward
/// unchanged bit for bit.
@Suite struct SAEGradientTapTests {
    let input = ModelInput.tokens(IndexTensor(shape: [1, 5], values: [1, 2, 3, 4, 5]))

    func objective(_ logits: Tensor) -> Tensor {
        let last = logits.atPosition(-1)
        return (last.narrowed(1, start: 5, length: 1) - last.narrowed(1, start: 6, length: 1)).sum()
    }

    func intervenable(_ model: DecoderModel, _ sae: SparseAutoencoder, edits: [LatentEdit] = []) throws -> IntervenableModel {
        try IntervenableModel(config: IntervenableConfig(representations: [RepresentationConfig(layer: 0, component: .blockOutput)]),
                              model: model, prebuilt: [0: try SparseAutoencoderIntervention(sae: sae, edits: edits)])
    }

    @Test(arguments: [SAEActivation.relu, .topK(6)])
    func latentGradientsMatchFiniteDifferences(activation: SAEActivation) throws {
        let model = tinyGPT2()
        let sae = try SparseAutoencoder(width: 16, latents: 24, activation: activation, normalizesInput: activation != .relu, seed: 3)
        sae.encoderBias.assign(Tensor.randomNormal([24], std: 0.2, seed: 4))
        let probes = SideOutputProbes(names: ["latents"])
        let im = try intervenable(model, sae)
        let out = try im.forward(base: input, sideOutputProbes: probes)
        #expect(out.intervened.logits.scalars == (try model(input)).logits.scalars)
        self.objective(out.intervened.logits).backward()
        let (z, g) = try #require(probes.collect()[im.keys[0]]?["latents"])
        #expect(z.shape == [1, 5, 24] && g.shape == [1, 5, 24])
        // Set one active latent at one position to z ± ε and difference the objective.
        let p = 2, zs = z.scalars
        let i = (0..<24).max { abs(zs[p * 24 + $0]) < abs(zs[p * 24 + $1]) }!
        let epsilon: Float = 1e-2
        func edited(_ value: Float) throws -> Float {
            let im = try intervenable(model, sae, edits: [.set(latent: i, value: value)])
            return try Tensor.withoutGradients { self.objective(try im.forward(base: input, unitLocations: .base([[p]])).intervened.logits).item }
        }
        let fd = (try edited(zs[p * 24 + i] + epsilon) - edited(zs[p * 24 + i] - epsilon)) / (2 * epsilon)
        let gradient = g.scalars[p * 24 + i]
        #expect(abs(gradient) > 1e-3 && abs(fd - gradient) < 1e-2 * abs(gradient) + 1e-3, "\(fd) vs \(gradient)")
        // Nothing is probed without gradients.
        let quiet = SideOutputProbes()
        _ = try Tensor.withoutGradients { try im.forward(base: input, sideOutputProbes: quiet) }
        #expect(quiet.collect().isEmpty)
    }
}
