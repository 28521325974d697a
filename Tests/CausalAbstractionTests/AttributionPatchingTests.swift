import Foundation
import Testing
import CausalAbstraction
import Intervene
import Models
import Tensors

/// Attribution patching against real activation patching.
@Suite struct AttributionPatchingTests {
    @Test func identicalInputsGiveZeroEffects() throws {
        let model = try GPT2Family.model(GPT2Family.config(vocabularySize: 30, positions: 16, width: 16, layers: 2, heads: 2))
        model.initializeRandomly(seed: 2, std: 0.3)
        let ids = [1, 2, 3, 4]
        let grids = try AttributionPatching.run(model: model, base: ids, source: ids, component: .blockOutput,
                                                metric: .logitDifference(target: 5, distractor: 6), method: .linear)
        #expect(grids.patching.flatMap { $0 }.allSatisfy { abs($0) < 1e-6 } && grids.attribution.flatMap { $0 }.allSatisfy { $0 == 0 })
        #expect(throws: ExperimentError.self) {
            try AttributionPatching.run(model: model, base: ids, source: [1, 2], component: .blockOutput,
                                        metric: .logitDifference(target: 5, distractor: 6))
        }
    }

    /// The capital task on SmolLM2 (when `make smollm2` has fetched it): Spain ← Italy at every
    /// layer and position of a component; the metric is logit(" Rome") − logit(" Madrid"). The
    /// attribution at a cell is the directional derivative along source − base, checked here
    /// against a finite difference at layer 10, position 3 (where patching moves the metric by
    /// ≈ +11.8 but the slope at the base is ≈ −3.5: the linear approximation fails there).
    @Test func attributionIsTheDirectionalDerivativeOnSmolLM2() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let path = root + "/.cache/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
        guard FileManager.default.fileExists(atPath: path) else { return }
        let model = try ModelLoader.load(.gguf(path)).model
        let base = [504, 3575, 282, 7476, 314], source = [504, 3575, 282, 7158, 314]
        let metric = AttributionMetric.logitDifference(target: 7268, distractor: 28030)
        let grids = try AttributionPatching.run(model: model, base: base, source: source, component: .blockOutput, metric: metric, method: .linear)
        #expect(abs(grids.patching[10][3] - 11.77) < 0.05 && abs(grids.baseMetric + 4.731) < 1e-2)
        // Finite difference along source − base at (10, 3).
        func input(_ ids: [Int]) -> ModelInput { .tokens(IndexTensor(shape: [1, ids.count], values: ids)) }
        let site = Site(layer: 10, component: .blockOutput)
        let delta = (try model.runWithCache(input(source), sites: [site]).cache[site]! - model.runWithCache(input(base), sites: [site]).cache[site]!)
            .narrowed(1, start: 3, length: 1)
        let eps: Float = 1e-3
        let hooks = HookRegistry()
        hooks.add(layer: 10, tap: .blockOutput) { a, _ in
            a = Tensor.concatenate([a.narrowed(1, start: 0, length: 3), a.narrowed(1, start: 3, length: 1) + delta * eps,
                                    a.narrowed(1, start: 4, length: 1)], axis: 1)
        }
        var options = ForwardOptions()
        options.hooks = hooks
        let slope = (Double(metric.values(try model.forward(input(base), options: options).logits).item) - grids.baseMetric) / Double(eps)
        #expect(abs(slope - grids.attribution[10][3]) < 0.05 * abs(slope) + 0.05, "\(slope) vs \(grids.attribution[10][3])")
        print(String(format: "attribution vs activation patching on SmolLM2 (block_output): correlation %.3f", grids.correlation))
    }
}
