import Foundation
import Testing
@testable import CausalAbstraction
import Intervene
import Models
import Tensors

/// Counterfactual examples with several sources (pyvene's multi-source interchange: intervention
/// k reads source k): rendered, written and read as JSON lines, collated and run.
@Suite struct MultiSourceExampleTests {
    let task = HierarchicalEqualityTask(seed: 0)

    func vectorTemplate() -> CounterfactualTemplate {
        CounterfactualTemplate.vectors(classes: [.bool(false), .bool(true)]) { [task] setting in
            [task.inputs([HierarchicalEqualityTask.objectIDs(setting)!]).scalars]
        }
    }

    @Test func twoSourceExamplesRenderRoundTripAndCollate() throws {
        let model = try HierarchicalEqualityTask.causalModel()
        let examples = try CounterfactualDataset.sample(model, count: 6, variables: [["WX"], ["YZ"]], seed: 4,
                                                        draw: HierarchicalEqualityTask.causalInputSampler())
        let rendered = try vectorTemplate().render(examples)
        for (r, e) in zip(rendered, examples) {
            #expect(r.sources.count == 2 && r.source == r.sources[0])
            for k in 0..<2 {
                #expect(r.sources[k] == .embeddings([task.inputs([HierarchicalEqualityTask.objectIDs(e.sources[k])!]).scalars]))
                #expect(r.locations(ofSource: k) == .init(base: [0], source: [0]))
            }
            #expect(r.label == (e.counterfactualLabel == .bool(true) ? 1 : 0))
        }
        // JSON lines: "sources" instead of "source"; read back equal.
        let path = NSTemporaryDirectory() + "multi-\(UUID().uuidString).jsonl"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let text = rendered.map(\.jsonLine).joined(separator: "\n")
        #expect(text.contains("\"sources\": [[[") && !text.contains("\"source\":"))
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try InterventionExample.load(jsonl: path, classes: 2) == rendered)

        // The collator gives one stacked input per source and representation k the locations of source k.
        let batch = try InterventionExample.collator(representations: 2, subspaces: nil)(rendered)
        #expect(batch.sources?.count == 2 && batch.unitLocations?.interventions.count == 2)
        guard case .embeddings(let second) = batch.sources![1] else { Issue.record("expected embeddings"); return }
        #expect(second.shape == [6, 1, 16])
        guard case .embeddings(let row) = rendered[2].sources[1] else { return }
        #expect(second.narrowed(0, start: 2, length: 1).scalars == row[0])
        #expect(throws: ConfigurationError.self) { try InterventionExample.collator(representations: 3, subspaces: nil)(rendered) }
        let single = try vectorTemplate().render(try CounterfactualDataset.sample(model, count: 1, variables: [["WX"]], seed: 1,
                                                                                  draw: HierarchicalEqualityTask.causalInputSampler()))
        #expect(throws: ConfigurationError.self) { try InterventionExample.collator(representations: 2, subspaces: nil)(rendered + single) }
        #expect(InterventionExample.batches(rendered + single, size: 8).map(\.count) == [6, 1])
        // Counterfactual JSON lines without sources, or with a source count unlike the variable lists', are refused.
        var none = examples[0]
        none.sources = []
        #expect(throws: CausalModelError.self) { try vectorTemplate().render(none) }
        for bad in [none, CounterfactualExample(base: examples[0].base, sources: examples[0].sources, variables: [["WX"]], output: "O",
                                                baseLabel: examples[0].baseLabel, counterfactualLabel: examples[0].counterfactualLabel)] {
            do {
                _ = try CounterfactualDataset.read(jsonLines: try CounterfactualDataset.jsonLines([bad]))
                Issue.record("accepted \(bad)")
            } catch CausalModelError.malformedJSON(let reason) {
                #expect(reason.hasPrefix("line 1: sources: \(bad.sources.count) sources for \(bad.variables.count) variable lists"))
            }
        }
    }

    /// Two interventions on disjoint halves of one site, fed the same source twice, equal one
    /// interchange of the whole site from that source; fed two different sources, each half
    /// comes from its own source.
    @Test func twoSourcesDriveTwoInterventions() throws {
        let mlp = MLPClassifier(MLPClassifierConfiguration(width: 16, layers: 3, classes: 2, activation: .relu))
        mlp.initializeRandomly(seed: 11, std: 0.4)
        let model = try HierarchicalEqualityTask.causalModel()
        let examples = try vectorTemplate().render(try CounterfactualDataset.sample(model, count: 5, variables: [["WX"], ["YZ"]], seed: 8,
                                                                                    draw: HierarchicalEqualityTask.causalInputSampler()))
        let site = RepresentationConfig(layer: 0, component: .blockOutput)
        let two = try IntervenableModel(config: IntervenableConfig(representations: [site, site], interventionTypes: .vanilla), model: mlp)
        let one = try IntervenableModel(config: IntervenableConfig(site, interventionType: .vanilla), model: mlp)
        let low = Array(0..<8), high = Array(8..<16)
        let halves: Subspaces = [Array(repeating: low, count: 5), Array(repeating: high, count: 5)]
        var same = examples
        for i in same.indices { same[i].sources[1] = same[i].sources[0] }
        let sameBatch = try InterventionExample.collator(representations: 2, subspaces: nil)(same)
        let split = try two.forward(base: sameBatch.base, sources: sameBatch.sources, unitLocations: sameBatch.unitLocations, subspaces: halves)
        let whole = try one.forward(base: sameBatch.base, sources: [sameBatch.sources![0]],
                                    unitLocations: UnitLocations([sameBatch.unitLocations!.interventions[0]]))
        #expect((split.intervened.logits - whole.intervened.logits).abs().maxValue() < 1e-6)

        // Different sources: the same as interchanging the low half from source 0, then the high half from source 1.
        let batch = try InterventionExample.collator(representations: 2, subspaces: nil)(examples)
        let mixed = try two.forward(base: batch.base, sources: batch.sources, unitLocations: batch.unitLocations, subspaces: halves)
        let site0 = Site(layer: 0, component: .blockOutput)
        func activation(_ input: ModelInput) throws -> Tensor { try mlp.runWithCache(input, sites: [site0]).cache[site0]! }
        let b = try activation(batch.base), s0 = try activation(batch.sources![0]), s1 = try activation(batch.sources![1])
        let mask = Tensor(shape: [1, 16], values: (0..<16).map { $0 < 8 ? 1 : 0 })
        let expected = s0.reshaped([5, 16]) * mask + s1.reshaped([5, 16]) * (1 - mask)
        let hooks = HookRegistry()
        hooks.add(layer: 0, tap: .blockOutput) { a, _ in a = expected.reshaped(a.shape) }
        var options = ForwardOptions()
        options.hooks = hooks
        let manual = try mlp.forward(batch.base, options: options)
        #expect((mixed.intervened.logits - manual.logits).abs().maxValue() < 1e-5)
        #expect((b - s0).abs().maxValue() > 0)
    }

    @Test func jsonWithSeveralSourcesAndPositionsPerSource() throws {
        let lines = """
        {"base": [1, 2, 3, 4], "sources": [[5, 6, 7, 8], [9, 10, 11]], "positions": [[0], [-1]], "source_positions": [[1], [2]], "label": 4}
        {"base": [1, 2, 3, 4], "sources": [[5, 6, 7, 8], [9, 10, 11, 12]], "positions": [1, 2], "label": 5}
        """
        let path = NSTemporaryDirectory() + "multi-\(UUID().uuidString).jsonl"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try lines.write(toFile: path, atomically: true, encoding: .utf8)
        let examples = try InterventionExample.load(jsonl: path, classes: 20)
        #expect(examples[0].sources == [.tokens([5, 6, 7, 8]), .tokens([9, 10, 11])])
        #expect(examples[0].locations(ofSource: 0) == .init(base: [0], source: [1]) && examples[0].locations(ofSource: 1) == .init(base: [3], source: [2]))
        #expect(examples[1].locationsBySource == nil && examples[1].locations(ofSource: 1) == .init(base: [1, 2], source: [1, 2]))
        // Written and read again, per-source positions included.
        try examples.map(\.jsonLine).joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try InterventionExample.load(jsonl: path, classes: 20) == examples)

        func refused(_ line: String, field: String) {
            do {
                try line.write(toFile: path, atomically: true, encoding: .utf8)
                _ = try InterventionExample.load(jsonl: path, classes: 20)
                Issue.record("accepted \(line)")
            } catch ExperimentError.invalid(_, let f, _, _) {
                #expect(f == field, "\(line)")
            } catch { Issue.record("\(error)") }
        }
        refused(#"{"base": [1], "source": [2], "sources": [[3]], "positions": [0], "label": 1}"#, field: "source")
        refused(#"{"base": [1], "sources": [], "positions": [0], "label": 1}"#, field: "sources")
        refused(#"{"base": [1, 2], "sources": [[3, 4], [5, 6]], "positions": [[0]], "label": 1}"#, field: "positions")
        refused(#"{"base": [1, 2], "sources": [[3, 4], [5]], "positions": [1], "label": 1}"#, field: "source_positions")
        refused(#"{"base": [1, 2], "sources": [[3, 4], [5, 6]], "positions": [[0], [7]], "label": 1}"#, field: "positions[1]")
    }
}
