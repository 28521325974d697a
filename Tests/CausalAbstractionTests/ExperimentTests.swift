import Foundation
import Testing
@testable import CausalAbstraction
import Intervene
import Models
import Tensors

@Suite struct ExperimentTests {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    @Test func shippedBundleReproducesItsIIA() throws {
        let bundle = ExperimentTests.root + "/Interventions/hierarchical-equality-das"
        let manifest = try InterventionBundle.manifest(at: bundle)
        let model = try ModelLoader.load(folder: ExperimentTests.root + "/" + manifest.modelSource)
        let intervenable = try InterventionBundle.load(from: bundle, model: model)
        let task = HierarchicalEqualityTask(seed: 0)
        #expect(manifest.trainedSubspaces == [0])
        let trainer = InterventionTrainer(model: intervenable, collator: task.collator(variable: .leftEquality, subspaces: manifest.trainedSubspaces))
        let iia = try trainer.evaluate(task.sample(10_000, split: .test, seed: 0))["iia"]!
        #expect(abs(iia - manifest.metrics["iia"]!) < 0.002)
        #expect(iia >= 0.95)
    }

    @Test func shippedExperimentParses() throws {
        let e = try Experiment.load(path: ExperimentTests.root + "/Experiments/hierarchical-equality-das.json")
        #expect(e.representations[0].component == .blockOutput)
        #expect(e.interventionTypes == "RotatedSpaceIntervention")
        #expect(e.output.bundle == "Interventions/hierarchical-equality-das")
    }

    func write(_ text: String) -> String {
        let path = NSTemporaryDirectory() + "experiment-\(UUID().uuidString).json"
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    @Test func malformedExperimentsNameTheField() throws {
        let missing = write(#"{"name": "x", "model": {"builtin": "hierarchical_equality_mlp"}, "data": {}, "output": {"bundle": "b"}}"#)
        #expect(throws: ExperimentError.invalid(file: missing, field: "representations", value: "…", expected: "a required field")) { try Experiment.load(path: missing) }
        let wrongType = write(#"{"name": "x", "model": {}, "data": {}, "representations": [{"layer": "zero", "component": "block_output"}], "output": {"bundle": "b"}}"#)
        do { _ = try Experiment.load(path: wrongType); Issue.record("expected an error") } catch let ExperimentError.invalid(_, field, _, _) {
            #expect(field == "representations.[0].layer" || field == "representations[0].layer")
        }
        let notJSON = write("{ nope")
        #expect(throws: ExperimentError.self) { try Experiment.load(path: notJSON) }
        let badEpochs = write("""
        {"name": "x", "model": {"builtin": "hierarchical_equality_mlp"}, "data": {"builtin": "hierarchical_equality"},
         "representations": [{"layer": 0, "component": "block_output"}], "training": {"epochs": 0}, "output": {"bundle": "b"}}
        """)
        let runner = ExperimentRunner(experiment: try Experiment.load(path: badEpochs), file: badEpochs)
        #expect(throws: ExperimentError.invalid(file: badEpochs, field: "training.epochs", value: "0", expected: "a positive integer")) { try runner.options() }
        let badModel = write("""
        {"name": "x", "model": {"builtin": "gpt5"}, "data": {"builtin": "hierarchical_equality"},
         "representations": [{"layer": 0, "component": "block_output"}], "output": {"bundle": "b"}}
        """)
        #expect(throws: ExperimentError.self) { try ExperimentRunner(experiment: try Experiment.load(path: badModel), file: badModel).model() }
        let badVariable = write("""
        {"name": "x", "model": {"builtin": "hierarchical_equality_mlp"}, "data": {"builtin": "hierarchical_equality", "variable": "middle"},
         "representations": [{"layer": 0, "component": "block_output"}], "output": {"bundle": "b"}}
        """)
        #expect(throws: ExperimentError.invalid(file: badVariable, field: "data.variable", value: "\"middle\"", expected: "left_equality, right_equality")) {
            try ExperimentRunner(experiment: try Experiment.load(path: badVariable), file: badVariable).data()
        }
    }

    @Test func tasksLabelCounterfactualsCorrectly() {
        let e = HierarchicalEqualityTask.Example(base: [1, 1, 2, 3], source: [4, 5, 6, 6])
        #expect(e.label == 0)                       // (1 = 1) = (2 = 3) is false
        #expect(e.counterfactualLabel(.leftEquality) == 1)   // source WX false = base YZ false
        #expect(e.counterfactualLabel(.rightEquality) == 1)  // base WX true = source YZ true
        let t = TokenEqualityTask.Example(base: [1, 2, 3, 3], source: [5, 5, 0, 1])
        #expect(t.counterfactualYes)               // source (w = x) true = base (y = z) true
        let samples = HierarchicalEqualityTask(seed: 0).sample(2_000, seed: 1)
        let balance = Double(samples.filter { $0.label == 1 }.count) / 2_000
        #expect(abs(balance - 0.5) < 0.05)
    }

    @Test func svgChartsAreWellFormed() throws {
        let heat = SVGPlot.heatmap([[0.1, 0.9]], rowLabels: ["layer 0"], columnLabels: ["a", "b"], title: "IIA <test>")
        #expect(heat.hasPrefix("<svg") && heat.hasSuffix("</svg>") && heat.contains("0.90") && heat.contains("&lt;test&gt;"))
        let line = SVGPlot.lineChart([("loss", [(0, 1), (1, 0.5)])], title: "t", xLabel: "x", yLabel: "y")
        #expect(line.contains("<polyline"))
    }
}
