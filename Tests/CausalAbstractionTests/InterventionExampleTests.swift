import Foundation
import Testing
@testable import CausalAbstraction
import Intervene
import Models
import Tensors

@Suite struct InterventionExampleTests {
    func write(_ text: String, suffix: String = ".jsonl") -> String {
        let path = NSTemporaryDirectory() + "examples-\(UUID().uuidString)\(suffix)"
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    @Test func jsonLinesRoundTrip() throws {
        let task = HierarchicalEqualityTask(seed: 0)
        let examples = task.interventionExamples(task.sample(5, seed: 3), variable: .rightEquality)
            + [InterventionExample(base: .tokens([1, 2, 3]), source: .tokens([4, 5, 6]), basePositions: [2], sourcePositions: [0, 1], label: 7)]
        let path = write(examples.map(\.jsonLine).joined(separator: "\n") + "\n\n")
        let loaded = try InterventionExample.load(jsonl: path)
        #expect(loaded == examples)
        #expect(loaded[5].sourcePositions == [0, 1] && loaded[0].sourcePositions == [0])
    }

    @Test func malformedLinesNameTheLineAndField() throws {
        let good = #"{"base": [1, 2], "source": [3, 4], "positions": [1], "label": 0}"#
        let badLabel = write(good + "\n" + #"{"base": [1, 2], "source": [3, 4], "positions": [1], "label": true}"#)
        #expect(throws: ExperimentError.invalid(file: badLabel + ":2", field: "label", value: "true", expected: "a non-negative integer, or a text (its first token)")) {
            try InterventionExample.load(jsonl: badLabel)
        }
        let noPositions = write(#"{"base": [1, 2], "source": [3, 4], "label": 0}"#)
        #expect(throws: ExperimentError.invalid(file: noPositions + ":1", field: "positions", value: "missing",
                                                expected: "a non-empty list of positions, each " + TokenPosition.forms)) {
            try InterventionExample.load(jsonl: noPositions)
        }
        let ragged = write(#"{"base": [[0.5, 1], [2]], "source": [[1, 1], [1, 1]], "positions": [0], "label": 1}"#)
        do { _ = try InterventionExample.load(jsonl: ragged); Issue.record("expected an error") } catch let ExperimentError.invalid(file, field, _, _) {
            #expect(file == ragged + ":1" && field == "base")
        }
        let notJSON = write(good + "\n" + good + "\n{ nope")
        do { _ = try InterventionExample.load(jsonl: notJSON); Issue.record("expected an error") } catch let ExperimentError.invalid(file, _, _, _) {
            #expect(file == notJSON + ":3")
        }
        #expect(throws: ExperimentError.self) { try InterventionExample.load(jsonl: write("\n\n")) }
        #expect(throws: ExperimentError.self) { try InterventionExample.load(jsonl: "/nonexistent/examples.jsonl") }
    }

    @Test func tokenCollatorBuildsBatchesAndRejectsMixedLengths() throws {
        let examples = [
            InterventionExample(base: .tokens([1, 2, 3]), source: .tokens([4, 5, 6]), basePositions: [2], label: 9),
            InterventionExample(base: .tokens([7, 8, 9]), source: .tokens([1, 1, 1]), basePositions: [1], sourcePositions: [0], label: 4),
        ]
        let collate = InterventionExample.collator(representations: 2, subspaces: nil)
        let batch = try collate(examples)
        guard case .tokens(let ids) = batch.base else { Issue.record("expected tokens"); return }
        #expect(ids.shape == [2, 3] && ids.values == [1, 2, 3, 7, 8, 9])
        #expect(batch.labels == [9, 4] && batch.labelPosition == -1)
        #expect(batch.unitLocations?.interventions.count == 2 && batch.unitLocations?.interventions[1].source?[1] == .positions([0]))
        let ragged = examples + [InterventionExample(base: .tokens([1, 2]), source: .tokens([3, 4]), basePositions: [0], label: 0)]
        #expect(throws: ConfigurationError.self) { try collate(ragged) }
    }

    /// An experiment that names .jsonl files trains and evaluates from them, and records them.
    @Test func experimentTrainsFromJSONLFiles() throws {
        let task = HierarchicalEqualityTask(seed: 0)
        let train = write(task.interventionExamples(task.sample(3_000, seed: 10), variable: .leftEquality).map(\.jsonLine).joined(separator: "\n"))
        let test = write(task.interventionExamples(task.sample(1_000, seed: 11), variable: .leftEquality).map(\.jsonLine).joined(separator: "\n"))
        let bundle = NSTemporaryDirectory() + "jsonl-bundle-\(UUID().uuidString)"
        let experiment = write("""
        {"name": "jsonl DAS", "seed": 0, "model": {"path": "\(ExperimentTests.root)/Interventions/hierarchical-equality-mlp"},
         "data": {"train": "\(train)", "test": "\(test)"},
         "representations": [{"layer": 0, "component": "block_output", "unit": "pos", "max_number_of_units": 1,
                              "subspace_partition": [[0, 8], [8, 16]]}],
         "intervention_types": "RotatedSpaceIntervention", "subspaces": [0],
         "training": {"epochs": 4, "batch_size": 64, "learning_rate": 0.002, "optimizer": "adam"},
         "output": {"bundle": "\(bundle)"}}
        """, suffix: ".json")
        var runner = ExperimentRunner(experiment: try Experiment.load(path: experiment), file: experiment)
        runner.progress = .silent
        let metrics = try runner.run(command: "test")
        #expect(metrics["iia"]! > 0.9)
        let manifest = try InterventionBundle.manifest(at: bundle)
        #expect(manifest.json["provenance"]?["data"]?.stringValue?.hasPrefix("jsonl:") == true)
        let missingTest = write(#"{"name": "x", "model": {"path": "m"}, "data": {"train": "a.jsonl"}, "representations": [{"layer": 0, "component": "block_output"}], "output": {"bundle": "b"}}"#, suffix: ".json")
        #expect(throws: ExperimentError.invalid(file: missingTest, field: "data.test", value: "missing", expected: "a .jsonl file of test examples, or a list of them")) {
            try ExperimentRunner(experiment: try Experiment.load(path: missingTest), file: missingTest).data()
        }
    }

    /// A label the model cannot produce (≥ its classes, or negative) is refused at load time
    /// naming file:line, the field, the value and the allowed range; labels built in code are
    /// refused by the trainer before the loss reads them.
    @Test func labelsOutsideTheModelsClassesAreNamed() throws {
        let good = #"{"base": [[0.5, 1]], "source": [[1, 1]], "positions": [0], "label": 1}"#
        let tooLarge = write(good + "\n" + #"{"base": [[0.5, 1]], "source": [[1, 1]], "positions": [0], "label": 2}"#)
        let allowed = "a class index in 0..<2 (the classes of the model's output)"
        let error = ExperimentError.invalid(file: tooLarge + ":2", field: "label", value: "2", expected: allowed)
        #expect(throws: error) { try InterventionExample.load(jsonl: tooLarge, classes: 2) }
        #expect("\(error)" == "\(tooLarge):2: field 'label' has value 2; expected \(allowed)")
        let negative = write(#"{"base": [[0.5, 1]], "source": [[1, 1]], "positions": [0], "label": -1}"#)
        #expect(throws: ExperimentError.invalid(file: negative + ":1", field: "label", value: "-1", expected: allowed)) {
            try InterventionExample.load(jsonl: negative, classes: 2)
        }
        let model = try ModelLoader.load(folder: ExperimentTests.root + "/Interventions/hierarchical-equality-mlp")
        #expect(InterventionExample.labelClasses(of: model) == 2)
        let experiment = write("""
        {"name": "x", "model": {"path": "m"}, "data": {"train": "\(tooLarge)", "test": "\(tooLarge)"},
         "representations": [{"layer": 0, "component": "block_output"}], "output": {"bundle": "b"}}
        """, suffix: ".json")
        #expect(throws: error) { try ExperimentRunner(experiment: try Experiment.load(path: experiment), file: experiment).data(classes: 2) }
        let intervenable = try IntervenableModel(config: IntervenableConfig(RepresentationConfig(layer: 0, component: .blockOutput), interventionType: .vanilla),
                                                 model: model)
        let trainer = InterventionTrainer(model: intervenable, collator: InterventionExample.collator(representations: 1, subspaces: nil))
        let task = HierarchicalEqualityTask(seed: 0)
        var examples = task.interventionExamples(task.sample(3, seed: 1), variable: .leftEquality)
        examples[1].label = 5
        #expect(throws: TrainingError.invalidBatch(field: "labels[1]", value: "5", allowed: allowed)) { try trainer.evaluate(examples) }
    }
}
