import Foundation
import Testing
import CausalAbstraction
import Intervene
import Models
import Tensors

/// Causal tracing and activation patching on small random decoders, against hand-made runs.
@Suite struct CausalTracingTests {
    let tokens = [1, 7, 3, 9, 4, 2]
    let subject = 1..<3
    let answer = 5

    /// The metric of one run of `tokens` with `noise` added to the embeddings and the clean
    /// activations of `clean` written over `restore` (site → positions), by hooks written here.
    func handRun(_ model: DecoderModel, noise: Tensor, restore: [Site: [Int]], clean: [Site: Tensor], metric: AttributionMetric) throws -> Double {
        let hooks = HookRegistry()
        hooks.add(layer: 0, tap: .tokenEmbedding) { x, _ in x = x + noise }
        for (site, positions) in restore {
            hooks.add(layer: site.layer, tap: site.component) { a, _ in
                var parts: [Tensor] = []
                for p in 0..<a.shape[1] {
                    parts.append(positions.contains(p) ? clean[site]!.narrowed(1, start: p, length: 1) : a.narrowed(1, start: p, length: 1))
                }
                a = Tensor.concatenate(parts, axis: 1)
            }
        }
        var options = ForwardOptions()
        options.hooks = hooks
        let logits = try Tensor.withoutGradients { try model.forward(AttributionModels.input(tokens), options: options).logits }
        return Double(metric.values(logits).item)
    }

    func cleanCache(_ model: DecoderModel, sites: [Site]) throws -> [Site: Tensor] {
        try Tensor.withoutGradients { try model.runWithCache(AttributionModels.input(tokens), sites: sites).cache }
    }

    /// Restoring nothing gives the corrupted metric (hand-computed over the samples); restoring
    /// the residual stream at the last block at every position, or at every block and position,
    /// gives the clean metric; a windowed grid cell equals the hand-made restoration of its layers.
    @Test func restorationsMatchHandMadeRuns() throws {
        for model in [try AttributionModels.gpt2(), try AttributionModels.llama()] {
            let metric = AttributionMetric.probability(target: answer), layers = model.siteTable.layers
            let specs = [TraceGridSpec(component: .blockOutput), TraceGridSpec(component: .mlpOutput, window: 2),
                         TraceGridSpec(component: .attentionOutput, window: 3)]
            let sites = CausalTrace.sites(for: specs, layers: layers)
            let noise = TracingNoise.samples(3, length: tokens.count, width: 16, positions: Array(subject), std: 1.5, seed: 9)
            let runs = try RestorationRuns(model: model, cleanInput: tokens, corruptedInput: tokens, noise: noise, sites: sites, metric: metric, maxRows: 5)
            let clean = try cleanCache(model, sites: sites)
            let plain = try Tensor.withoutGradients { Double(metric.values(try model(AttributionModels.input(tokens)).logits).item) }
            #expect(abs(runs.cleanMetric - plain) < 1e-6 && runs.firstAffected == 1)
            let corrupted = try noise.map { try handRun(model, noise: $0, restore: [:], clean: clean, metric: metric) }.reduce(0, +) / 3
            #expect(abs(runs.corruptedMetric - corrupted) < 1e-6)
            #expect(abs(runs.corruptedMetric - runs.cleanMetric) > 1e-3, "the noise must move the metric for the test to mean anything")
            let all = Array(0..<tokens.count)
            let everything = (0..<layers).flatMap { l in all.map { TraceNode(site: Site(layer: l, component: .blockOutput), position: $0) } }
            let lastBlock = all.map { TraceNode(site: Site(layer: layers - 1, component: .blockOutput), position: $0) }
            let values = try runs.values(of: [[], everything, lastBlock], progress: { _, _ in })
            #expect(abs(values[0] - runs.corruptedMetric) < 1e-7)
            #expect(abs(values[1] - runs.cleanMetric) < 1e-6 && abs(values[2] - runs.cleanMetric) < 1e-6)

            let grids = try CausalTrace.grids(runs, specs: specs)
            #expect(grids.count == 3 && grids.allSatisfy { $0.values.count == layers && $0.values[0].count == tokens.count })
            // Position 0 precedes the subject: restoring it changes nothing and its effect is exactly 0.
            #expect(grids.allSatisfy { $0.effects.allSatisfy { $0[0] == 0 } })
            // mlp_output, window 2 at layer 1, position 2: layers [0, 2) restored.
            let mlp = try noise.map {
                try handRun(model, noise: $0, restore: [Site(layer: 0, component: .mlpOutput): [2], Site(layer: 1, component: .mlpOutput): [2]],
                            clean: clean, metric: metric)
            }.reduce(0, +) / 3
            #expect(abs(grids[1].values[1][2] - mlp) < 1e-6, "\(grids[1].values[1][2]) vs \(mlp)")
            // attention_output, window 3 at the last layer, position 1: layers [L − 2, L).
            let attention = try noise.map {
                try handRun(model, noise: $0, restore: Dictionary(uniqueKeysWithValues: ((layers - 2)..<layers).map { (Site(layer: $0, component: .attentionOutput), [1]) }),
                            clean: clean, metric: metric)
            }.reduce(0, +) / 3
            #expect(abs(grids[2].values[layers - 1][1] - attention) < 1e-6)
            // block_output at the last layer and last position is the clean run's logits.
            #expect(abs(grids[0].values[layers - 1][tokens.count - 1] - runs.cleanMetric) < 1e-6)
            #expect(zip(grids[0].values.joined(), grids[0].effects.joined()).allSatisfy { abs($0 - runs.corruptedMetric - $1) < 1e-12 })
            // Batching changes nothing beyond rounding.
            let single = try RestorationRuns(model: model, cleanInput: tokens, corruptedInput: tokens, noise: noise, sites: sites, metric: metric, maxRows: 1)
            let again = try CausalTrace.grids(single, specs: specs)
            for (a, b) in zip(grids, again) { #expect(zip(a.values.joined(), b.values.joined()).allSatisfy { abs($0 - $1) < 1e-6 }) }
        }
    }

    @Test func windowsAreClippedToTheModel() {
        let spec = TraceGridSpec(component: .mlpOutput, window: 10)
        #expect(spec.layers(around: 0, of: 30) == 0..<5 && spec.layers(around: 12, of: 30) == 7..<17 && spec.layers(around: 29, of: 30) == 24..<30)
        #expect(TraceGridSpec(component: .mlpOutput, window: 1).layers(around: 4, of: 30) == 4..<5)
        #expect(TraceGridSpec(component: .mlpOutput, window: 3).layers(around: 4, of: 30) == 3..<6)
    }

    /// Activation patching from a contrastive prompt equals the real patching grid of
    /// `AttributionPatching` (base = corrupted, source = clean), for a logit difference.
    @Test func patchingMatchesAttributionPatching() throws {
        let model = try AttributionModels.llama()
        let clean = [1, 2, 3, 4, 8], corrupted = [1, 9, 3, 4, 8]
        let metric = AttributionMetric.logitDifference(target: 5, distractor: 6)
        let result = try CausalTrace.patch(model: model, clean: clean, corrupted: corrupted, tokenTexts: clean.map(String.init), metric: metric,
                                           label: "m", specs: [TraceGridSpec(component: .blockOutput), TraceGridSpec(component: .mlpOutput)])
        let reference = try AttributionPatching.run(model: model, base: corrupted, source: clean, component: .blockOutput, metric: metric, method: .linear)
        #expect(abs(result.clean - reference.sourceMetric) < 1e-5 && abs(result.corrupted - reference.baseMetric) < 1e-5)
        let grid = try #require(result.grid(.blockOutput))
        for (a, b) in zip(grid.effects.joined(), reference.patching.joined()) { #expect(abs(a - b) < 1e-4, "\(a) vs \(b)") }
        #expect(result.corruptedPositions == [1] && result.kind == "activation_patching")
        let mlpReference = try AttributionPatching.run(model: model, base: corrupted, source: clean, component: .mlpOutput, metric: metric, method: .linear)
        for (a, b) in zip(try #require(result.grid(.mlpOutput)).effects.joined(), mlpReference.patching.joined()) { #expect(abs(a - b) < 1e-4) }
        // JSON round trip.
        let decoded = try CausalTrace.decode(try result.json())
        #expect(decoded.grids == result.grids && decoded.corruptedPositions == [1] && decoded.noiseStd == nil && decoded.version == 1)
        #expect(String(decoding: try result.json(), as: UTF8.self).contains("\"corrupted_positions\""))
    }

    /// σ is the standard deviation of the embedding matrix's entries; the noise is zero outside
    /// the subject and reproducible from its seed.
    @Test func noiseScaleAndSamples() throws {
        let model = try AttributionModels.gpt2()
        let weights = try #require(model.parameterDictionary["transformer.wte.weight"]).value.scalars.map(Double.init)
        let mean = weights.reduce(0, +) / Double(weights.count)
        let std = (weights.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(weights.count)).squareRoot()
        #expect(abs(try TracingNoise.embeddingStandardDeviation(model: model) - std) < 1e-5)
        let a = TracingNoise.samples(2, length: 5, width: 16, positions: [1, 2], std: 2, seed: 4)
        let b = TracingNoise.samples(2, length: 5, width: 16, positions: [1, 2], std: 2, seed: 4)
        #expect(a[0].scalars == b[0].scalars && a[0].scalars != a[1].scalars)
        let s = a[0].scalars
        #expect(s[0..<16].allSatisfy { $0 == 0 } && s[48...].allSatisfy { $0 == 0 } && s[16..<48].contains { $0 != 0 })
    }

    @Test func badInputsAreTypedErrors() throws {
        let model = try AttributionModels.gpt2(), metric = AttributionMetric.probability(target: 5)
        let specs = [TraceGridSpec(component: .blockOutput)]
        #expect(throws: ExperimentError.self) {
            try CausalTrace.patch(model: model, clean: [1, 2, 3], corrupted: [1, 2], tokenTexts: [], metric: metric, label: "", specs: specs)
        }
        for (subject, samples, std) in [(0..<0, 2, 1.0), (2..<9, 2, 1.0), (0..<1, 0, 1.0), (0..<1, 2, 0.0)] {
            #expect(throws: ExperimentError.self) {
                try CausalTrace.trace(model: model, tokens: [1, 2, 3], tokenTexts: ["a", "b", "c"], subject: subject, metric: metric, label: "",
                                      specs: specs, noiseStd: std, samples: samples)
            }
        }
        for bad in [TraceGridSpec(component: .headResult), TraceGridSpec(component: .blockOutput, window: 0)] {
            #expect(throws: (any Error).self) {
                try CausalTrace.trace(model: model, tokens: [1, 2, 3], tokenTexts: ["a", "b", "c"], subject: 0..<1, metric: metric, label: "",
                                      specs: [bad], noiseStd: 1, samples: 1)
            }
        }
    }

    @Test func probabilityMetricIsTheSoftmax() {
        let logits = Tensor(shape: [2, 1, 3], values: [1, 2, 3, 0, 0, 0])
        let p = AttributionMetric.probability(target: 2).values(logits).scalars
        #expect(abs(Double(p[0]) - exp(3) / (exp(1) + exp(2) + exp(3))) < 1e-6 && abs(p[1] - 1.0 / 3) < 1e-6)
    }
}
