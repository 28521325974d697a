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

    @Test func experimentDecodesFromBytesLikeTheFile() throws {
        let path = ExperimentTests.root + "/Experiments/hierarchical-equality-das.json"
        let e = try Experiment.decode(try Data(contentsOf: URL(fileURLWithPath: path)), file: "memory.json")
        #expect(e.name == (try Experiment.load(path: path)).name && e.interventionTypes == "RotatedSpaceIntervention")
        #expect(throws: ExperimentError.invalid(file: "memory.json", field: "representations", value: "…", expected: "a required field")) {
            try Experiment.decode(Data(#"{"name": "x", "model": {}, "data": {}, "output": {"bundle": "b"}}"#.utf8), file: "memory.json")
        }
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
        #expect(throws: ExperimentError.invalid(file: wrongType, field: "representations[0].layer", value: #""zero""#, expected: "an integer")) {
            try Experiment.load(path: wrongType)
        }
        let notJSON = write("{ nope")
        #expect(throws: ExperimentError.self) { try Experiment.load(path: notJSON) }
        let badEpochs = write("""
        {"name": "x", "model": {"builtin": "hierarchical_equality_mlp"}, "data": {"builtin": "hierarchical_equality"},
         "representations": [{"layer": 0, "component": "block_output"}], "training": {"epochs": 0}, "output": {"bundle": "b"}}
        """)
        #expect(throws: ExperimentError.invalid(file: badEpochs, field: "training.epochs", value: "0", expected: "an integer ≥ 1")) {
            try Experiment.load(path: badEpochs)
        }
        let fractionalEpochs = write("""
        {"name": "x", "seed": 3, "model": {"builtin": "hierarchical_equality_mlp"}, "data": {"builtin": "hierarchical_equality"},
         "representations": [{"layer": 0, "component": "block_output"}], "training": {"epochs": 1.5}, "output": {"bundle": "b"}}
        """)
        #expect(throws: ExperimentError.invalid(file: fractionalEpochs, field: "training.epochs", value: "1.5", expected: "an integer ≥ 1")) {
            try Experiment.load(path: fractionalEpochs)
        }
        let manyEpochs = write("""
        {"name": "x", "model": {"builtin": "hierarchical_equality_mlp"}, "data": {"builtin": "hierarchical_equality"},
         "representations": [{"layer": 0, "component": "block_output"}], "training": {"epochs": 2000000}, "output": {"bundle": "b"}}
        """)
        let runner = ExperimentRunner(experiment: try Experiment.load(path: manyEpochs), file: manyEpochs)
        #expect(throws: ExperimentError.invalid(file: manyEpochs, field: "training.epochs", value: "2000000", expected: "an integer in 1...1000000")) {
            try runner.options()
        }
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

    /// A misspelled or unknown key at any level of an experiment file is refused naming the key,
    /// its path and the keys allowed there; every shipped experiment still loads.
    @Test func unknownKeysAreNamedWithPathAndAllowedKeys() throws {
        let valid = """
        {"name": "x", "model": {"builtin": "hierarchical_equality_mlp"}, "data": {"builtin": "hierarchical_equality"},
         "representations": [{"layer": 0, "component": "block_output"}], "training": {"epochs": 1}, "output": {"bundle": "b"}}
        """
        var path = ""
        func unknownKey(_ from: String, _ to: String) throws -> ExperimentError? {
            path = write(valid.replacingOccurrences(of: from, with: to))
            do { _ = try Experiment.load(path: path) } catch let e as ExperimentError { return e }
            return nil
        }
        let training = try unknownKey(#""epochs": 1"#, #""epochs": 1, "batchsize": 8"#)
        guard case .unknownKey(_, "batchsize", "training.batchsize", let allowed)? = training else { Issue.record("got \(String(describing: training))"); return }
        #expect(allowed.contains("batch_size") && allowed.contains("early_stopping_patience") && allowed.count == 14)
        #expect(training?.description.contains("unknown key 'batchsize' at training.batchsize; allowed keys there: batch_size, boundary_learning_rate,") == true)
        let representation = try unknownKey(#""component": "block_output""#, #""component": "block_output", "max_number_of_unit": 2"#)
        guard case .unknownKey(_, _, "representations[0].max_number_of_unit", let representationKeys)? = representation else {
            Issue.record("got \(String(describing: representation))"); return
        }
        #expect(representationKeys.contains("max_number_of_units"))
        let top = try unknownKey(#""name": "x""#, #""name": "x", "sed": 3"#)
        guard case .unknownKey(_, _, "sed", let topKeys)? = top else { Issue.record("got \(String(describing: top))"); return }
        #expect(topKeys == ["data", "intervention_types", "model", "name", "output", "representations", "seed", "subspaces", "sweep", "training"])
        let model = try unknownKey(#""builtin": "hierarchical_equality_mlp""#, #""builtin": "hierarchical_equality_mlp", "paht": "m""#)
        #expect(model == .unknownKey(file: path, key: "paht", path: "model.paht", allowed: ["builtin", "path", "save_to", "tokenizer"]))
        #expect(try unknownKey(#""builtin": "hierarchical_equality"}"#, #""builtin": "hierarchical_equality", "tset": 5}"#)?.description.contains("at data.tset; allowed keys there: builtin, test, train, variable") == true)
        #expect(try unknownKey(#""bundle": "b""#, #""bundle": "b", "metric": "m.json""#)?.description.contains("at output.metric; allowed keys there: bundle, metrics") == true)
        let shipped = try FileManager.default.contentsOfDirectory(atPath: ExperimentTests.root + "/Experiments").filter { $0.hasSuffix(".json") }
        #expect(!shipped.isEmpty)
        for file in shipped { _ = try Experiment.load(path: ExperimentTests.root + "/Experiments/" + file) }
    }

    /// temperature_start without temperature_end (or the reverse) is refused naming the missing one.
    @Test func temperatureStartAndEndComeTogether() throws {
        func options(_ training: String) throws -> TrainingOptions {
            let path = write("""
            {"name": "x", "model": {"builtin": "hierarchical_equality_mlp"}, "data": {"builtin": "hierarchical_equality"},
             "representations": [{"layer": 0, "component": "block_output"}], "training": {\(training)}, "output": {"bundle": "b"}}
            """)
            return try ExperimentRunner(experiment: try Experiment.load(path: path), file: path).options()
        }
        do { _ = try options(#""temperature_start": 50"#); Issue.record("expected an error") } catch let e as ExperimentError {
            guard case .invalid(_, "training.temperature_end", "missing", let expected) = e else { Issue.record("got \(e)"); return }
            #expect(expected == "a positive temperature to anneal to from temperature_start (50.0); give both or neither")
            #expect(e.description.hasSuffix("field 'training.temperature_end' has value missing; expected \(expected)"))
        }
        do { _ = try options(#""temperature_end": 0.1"#); Issue.record("expected an error") } catch let e as ExperimentError {
            guard case .invalid(_, "training.temperature_start", "missing", _) = e else { Issue.record("got \(e)"); return }
        }
        #expect(try options(#""temperature_start": 50, "temperature_end": 0.1"#).temperature.map { [$0.start, $0.end] } == [50, 0.1])
        do { _ = try options(#""temperature_start": 50, "temperature_end": 0"#); Issue.record("expected an error") } catch let e as ExperimentError {
            guard case .invalid(_, "training.temperature_start/end", _, "positive start and end temperatures") = e else { Issue.record("got \(e)"); return }
        }
    }

    /// The runner holds out a validation split (10 % by default with early stopping) and hands
    /// it to the trainer, so early stopping ends training before the last epoch once the
    /// validation IIA stops improving.
    @Test func earlyStoppingStopsOnTheValidationSplit() throws {
        let task = HierarchicalEqualityTask(seed: 0)
        let jsonl = { (n: Int, seed: UInt64) -> String in
            let path = NSTemporaryDirectory() + "examples-\(UUID().uuidString).jsonl"
            let lines = task.interventionExamples(task.sample(n, seed: seed), variable: .leftEquality).map(\.jsonLine)
            _ = FileManager.default.createFile(atPath: path, contents: Data(lines.joined(separator: "\n").utf8))
            return path
        }
        let train = jsonl(600, 20), test = jsonl(100, 21)
        func experiment(_ training: String) throws -> ExperimentRunner {
            let path = write("""
            {"name": "early stopping", "seed": 0, "model": {"path": "\(ExperimentTests.root)/Interventions/hierarchical-equality-mlp"},
             "data": {"train": "\(train)", "test": "\(test)"},
             "representations": [{"layer": 0, "component": "block_output", "subspace_partition": [[0, 8], [8, 16]]}],
             "intervention_types": "RotatedSpaceIntervention", "subspaces": [0],
             "training": {\(training)}, "output": {"bundle": "\(NSTemporaryDirectory())early-\(UUID().uuidString)"}}
            """)
            var runner = ExperimentRunner(experiment: try Experiment.load(path: path), file: path)
            runner.progress = .silent
            return runner
        }
        // A learning rate too small to change any prediction: the validation IIA never improves.
        let runner = try experiment(#""epochs": 30, "batch_size": 64, "learning_rate": 1e-9, "early_stopping_patience": 2"#)
        let (kept, held) = try runner.validationSplit(try runner.data().train)
        #expect(held.count == 60 && kept.count == 540)
        let metrics = try runner.run(command: "test")
        #expect(metrics["stopped_early"] == 1)
        #expect(metrics["steps"] == 27)  // 3 of 30 epochs of 9 batches: the first sets the best, two more bring nothing
        #expect(metrics["validation_iia"] != nil)
        #expect(try experiment(#""epochs": 3"#).validationSplit(kept).validation.isEmpty)  // no early stopping: every example trains
        let noValidation = try experiment(#""early_stopping_patience": 1, "validation_fraction": 0"#)
        #expect(throws: ExperimentError.invalid(file: noValidation.file, field: "training.validation_fraction", value: "0.0",
                                                expected: "a fraction in (0, 1) of the training examples for early stopping to watch")) {
            try noValidation.validationFraction()
        }
    }
}

