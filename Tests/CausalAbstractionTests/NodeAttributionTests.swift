import Foundation
import Testing
import CausalAbstraction
import Intervene
import Models
import Tensors

/// Node attribution (activation × gradient for neurons, heads and latents) against finite
/// differences, and direct logit attribution against its defining sum and a hand computation.
@Suite struct NodeAttributionTests {
    let metric = AttributionMetric.logitDifference(target: 5, distractor: 6)
    let base = [1, 2, 3, 4, 8], source = [1, 9, 3, 4, 8]

    /// (m(+ε) − m(−ε)) / 2ε with `direction` (1, S, …) added to the tap at (layer, tap) times ±ε:
    /// the directional derivative of the metric along `direction`.
    func slope(_ model: any HookableModel, layer: Int, tap: Component, direction: Tensor, epsilon: Float = 1e-2) throws -> Double {
        func at(_ e: Float) throws -> Double {
            try AttributionModels.metric(model, base, metric, layer: layer, tap: tap) { a, _ in a = a + direction * e }
        }
        return (try at(epsilon) - at(-epsilon)) / Double(2 * epsilon)
    }

    /// A (1, S, W) tensor that is zero except `values` at position p, columns `columns`.
    func spike(length: Int, width: Int, position p: Int, columns: Range<Int>, values: [Float]) -> Tensor {
        var out = [Float](repeating: 0, count: length * width)
        for (k, c) in columns.enumerated() { out[p * width + c] = values[k] }
        return Tensor(shape: [1, length, width], values: out)
    }

    /// The largest |value| of an (S, W) grid: (position, column).
    func strongest(_ grid: Tensor) -> (Int, Int) {
        let values = grid.scalars, width = grid.shape[1]
        let i = values.indices.max { abs(values[$0]) < abs(values[$1]) }!
        return (i / width, i % width)
    }

    @Test(arguments: [false, true])
    func neuronsAndHeadsAreActivationTimesGradient(withSource: Bool) throws {
        for model in [try AttributionModels.gpt2(), try AttributionModels.llama()] {
            let nodes = try NodeAttribution.run(model: model, base: base, source: withSource ? source : nil, metric: metric)
            let layer = 1
            let sites = [Site(layer: layer, component: .mlpPostActivation), Site(layer: layer, component: .attentionValueOutput)]
            let baseCache = try model.runWithCache(AttributionModels.input(base), sites: sites).cache
            let sourceCache = try model.runWithCache(AttributionModels.input(source), sites: sites).cache
            func weight(_ site: Site) -> Tensor { withSource ? sourceCache[site]! - baseCache[site]! : baseCache[site]! }
            // One neuron: the derivative along (its activation or source − base) e_i at its position.
            let (p, i) = strongest(nodes.neurons[layer])
            let neurons = weight(sites[0]), width = neurons.shape[2]
            let value = neurons.scalars[p * width + i]
            let neuronSlope = try slope(model, layer: layer, tap: .mlpPostActivation,
                                        direction: spike(length: base.count, width: width, position: p, columns: i..<(i + 1), values: [value]))
            let attributed = Double(nodes.neurons[layer].scalars[p * width + i])
            #expect(abs(attributed) > 1e-3 && abs(neuronSlope - attributed) < 1e-2 * abs(attributed) + 1e-3, "\(neuronSlope) vs \(attributed)")
            // One head: the derivative along its own slice of attn.hook_z.
            let (q, h) = strongest(nodes.heads[layer])
            let z = weight(sites[1]), heads = nodes.heads[layer].shape[1], headWidth = z.shape[2] / heads
            let slice = (0..<headWidth).map { z.scalars[q * z.shape[2] + h * headWidth + $0] }
            let headSlope = try slope(model, layer: layer, tap: .attentionValueOutput,
                                      direction: spike(length: base.count, width: z.shape[2], position: q, columns: (h * headWidth)..<((h + 1) * headWidth), values: slice))
            let headAttribution = Double(nodes.heads[layer].scalars[q * heads + h])
            #expect(abs(headAttribution) > 1e-3 && abs(headSlope - headAttribution) < 1e-2 * abs(headAttribution) + 1e-3)
            #expect(nodes.neurons.count == 3 && nodes.neurons[0].shape == [base.count, width] && nodes.heads[0].shape == [base.count, heads])
            let top = nodes.top(5)
            #expect(top.count == 5 && zip(top, top.dropFirst()).allSatisfy { abs($0.attribution) >= abs($1.attribution) })
        }
    }

    /// Σ DLA + ⟨u, b⟩ is the metric's readout ⟨u, n⟩ of the final norm's output, which is the
    /// metric itself without soft-capping; the bias term is non-zero for a layer norm with a bias.
    @Test func directLogitAttributionSumsToTheMetric() throws {
        for (name, model) in [("gpt2", try AttributionModels.gpt2()), ("llama", try AttributionModels.llama()), ("gemma2", try AttributionModels.gemma2())] {
            let nodes = try NodeAttribution.run(model: model, base: base, metric: metric)
            let dla = try #require(nodes.directLogitAttribution)
            #expect(dla.latents.isEmpty)
            let tolerance = 1e-4 * max(1, abs(dla.readout))
            #expect(abs(dla.total + dla.biasTerm - dla.readout) < tolerance, "\(name): \(dla.total) + \(dla.biasTerm) vs \(dla.readout)")
            if name != "gemma2" { #expect(abs(dla.readout - nodes.metric) < tolerance, "\(name)") }
            if name == "gpt2" { #expect(abs(dla.biasTerm) > 1e-3) }
            let heads = model.config.heads, layers = model.config.layers
            #expect(dla.parts.count == 1 + layers * (heads + 2) && dla.parts.filter { $0.kind == "head" }.count == layers * heads)
        }
    }

    /// The frozen-norm direction by hand (Llama: ũ = w ⊙ (W_U[t] − W_U[d]) / σ with σ the RMS of
    /// the final residual at the last position) gives one head's DLA.
    @Test func oneHeadsDirectEffectByHand() throws {
        let model = try AttributionModels.llama()
        let direction = try handDirection(model)
        let sites = [Site(layer: 1, component: .headResult)]
        let heads = try model.runWithCache(AttributionModels.input(base), sites: sites).cache[sites[0]]!  // (1, H, S, D)
        let r = heads.narrowed(1, start: 2, length: 1).narrowed(2, start: base.count - 1, length: 1).reshaped([-1])
        let expected = Double((r * direction).sum().item)
        let dla = try #require(try NodeAttribution.run(model: model, base: base, metric: metric).directLogitAttribution)
        let part = try #require(dla.parts.first { $0.kind == "head" && $0.layer == 1 && $0.index == 2 })
        #expect(abs(part.value - expected) < 1e-4 * max(1, abs(expected)), "\(part.value) vs \(expected)")
    }

    /// ũ for the logit difference of a Llama model, by hand.
    func handDirection(_ model: DecoderModel) throws -> Tensor {
        var weights: [String: Tensor] = [:]
        model.visitParameters { key, p in weights[key] = p.value }
        let unembedding = weights["lm_head.weight"] ?? weights["model.embed_tokens.weight"]!
        let u = unembedding.narrowed(0, start: 5, length: 1) - unembedding.narrowed(0, start: 6, length: 1)
        let site = Site(layer: model.config.layers - 1, component: .blockOutput)
        let x = try model.runWithCache(AttributionModels.input(base), sites: [site]).cache[site]!.narrowed(1, start: base.count - 1, length: 1).reshaped([-1])
        guard case .rmsNorm(let epsilon) = model.config.norm else { throw ExperimentError.invalid(file: "test", field: "norm", value: "", expected: "rms") }
        let sigma = ((x * x).mean() + epsilon).sqrt()
        return (u.reshaped([-1]) * weights["model.norm.weight"]!) / sigma
    }

    /// Latents exposed through an intervention's tapped side output: attribution is z_i ∂m/∂z_i
    /// (checked along z_i d_i at the site), the forward is unchanged, and a latent's DLA is
    /// z_i ⟨ũ, d_i⟩.
    @Test func latentsThroughSideOutputs() throws {
        let model = try AttributionModels.llama()
        let autoencoder = TappedAutoencoder(width: 16, latents: 12, seed: 9)
        let intervenable = try IntervenableModel(config: IntervenableConfig(representations: [RepresentationConfig(layer: 1, component: .blockOutput)]),
                                                 model: model, prebuilt: [0: autoencoder])
        let plain = try NodeAttribution.run(model: model, base: base, metric: metric)
        let nodes = try NodeAttribution.run(model: model, base: base, metric: metric, latents: intervenable)
        #expect(nodes.metric == plain.metric && nodes.neurons[2].scalars == plain.neurons[2].scalars)
        let latents = try #require(nodes.latents.first)
        #expect(latents.key == intervenable.keys[0] && latents.site == Site(layer: 1, component: .blockOutput) && latents.values.shape == [base.count, 12])
        let (p, i) = strongest(latents.values)
        let site = Site(layer: 1, component: .blockOutput)
        let x = try model.runWithCache(AttributionModels.input(base), sites: [site]).cache[site]!
        let z = autoencoder.latents(x).scalars[p * 12 + i]
        let written = autoencoder.decoder.narrowed(0, start: i, length: 1).reshaped([-1]) * z
        let direction = spike(length: base.count, width: 16, position: p, columns: 0..<16, values: written.scalars)
        let fd = try slope(model, layer: 1, tap: .blockOutput, direction: direction)
        let attributed = Double(latents.values.scalars[p * 12 + i])
        #expect(abs(attributed) > 1e-3 && abs(fd - attributed) < 1e-2 * abs(attributed) + 1e-3, "\(fd) vs \(attributed)")
        #expect(nodes.top(200).contains { $0.kind == .latent && $0.key == latents.key })
        // Direct effects of the last position's latents.
        let dla = try #require(nodes.directLogitAttribution)
        let pulled = try handDirection(model)
        let lastZ = autoencoder.latents(x).narrowed(1, start: base.count - 1, length: 1).reshaped([-1]).scalars
        #expect(dla.latents.count == lastZ.filter { $0 != 0 }.count && !dla.latents.isEmpty)
        for part in dla.latents {
            let expected = Double(lastZ[part.index] * (autoencoder.decoder.narrowed(0, start: part.index, length: 1).reshaped([-1]) * pulled).sum().item)
            #expect(abs(part.value - expected) < 1e-4 * max(1, abs(expected)) && part.layer == 1 && part.key == intervenable.keys[0])
        }
    }

    @Test func badArgumentsAreTypedErrors() throws {
        let model = try AttributionModels.gpt2()
        #expect(throws: ExperimentError.self) { try NodeAttribution.run(model: model, base: base, metric: metric, method: .integratedGradients(steps: 4, path: .input)) }
        #expect(throws: ExperimentError.self) {
            try NodeAttribution.run(model: model, base: base, source: source, metric: metric, method: .integratedGradients(steps: 4, path: .node))
        }
        #expect(throws: ExperimentError.self) { try NodeAttribution.run(model: model, base: base, source: [1, 2], metric: metric) }
        #expect(throws: ExperimentError.self) { try NodeAttribution.run(model: model, base: [], metric: metric) }
        let ig = try NodeAttribution.run(model: model, base: base, source: source, metric: metric, method: .integratedGradients(steps: 4, path: .input))
        #expect(ig.neurons.allSatisfy { $0.scalars.allSatisfy(\.isFinite) } && ig.method == .integratedGradients(steps: 4, path: .input))
        #expect(throws: ExperimentError.self) { try AttributionMetric.logitDifference(target: 5, distractor: 400).check(vocabulary: 40) }
    }
}
