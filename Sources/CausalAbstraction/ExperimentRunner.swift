import Foundation
import Intervene
import Models
import Tensors

/// Runs experiment files: builds or loads the model, trains the intervention, evaluates IIA,
/// saves the bundle and a metrics file.
public struct ExperimentRunner {
    public let experiment: Experiment
    public let file: String
    public var progress: ProgressStyle = .automatic

    public init(experiment: Experiment, file: String) {
        self.experiment = experiment
        self.file = file
    }

    func invalid(_ field: String, _ value: String, _ expected: String) -> ExperimentError {
        .invalid(file: file, field: field, value: value, expected: expected)
    }

    /// The model the experiment names, and the source string recorded in bundles.
    public func model() throws -> (model: any HookableModel, source: String, taskAccuracy: Double?) {
        let spec = experiment.model
        if let path = spec.path {
            return (try ModelLoader.load(folder: path), path, nil)
        }
        guard let builtin = spec.builtin else { throw invalid("model", "{}", "\"path\" (a checkpoint folder) or \"builtin\"") }
        switch builtin {
        case "hierarchical_equality_mlp":
            let task = HierarchicalEqualityTask(seed: experiment.seed)
            let (model, accuracy) = try task.trainClassifier(seed: experiment.seed)
            var source = "builtin:hierarchical_equality_mlp seed \(experiment.seed)"
            if let folder = spec.saveTo {
                try CheckpointWriter.save(model, config: model.configuration, to: folder,
                                          card: "pyvene's MLP classifier trained on hierarchical equality (seed \(experiment.seed)); test accuracy \(String(format: "%.4f", accuracy)).")
                source = folder
            }
            return (model, source, accuracy)
        default:
            throw invalid("model.builtin", "\"\(builtin)\"", "hierarchical_equality_mlp")
        }
    }

    /// Training and test examples: a built-in task, or .jsonl files (see `InterventionExample`).
    public func data() throws -> (train: [InterventionExample], test: [InterventionExample], description: String) {
        let spec = experiment.data
        if spec.builtin == nil, let train = spec.train?.value.stringValue {
            guard let test = spec.test?.value.stringValue else {
                throw invalid("data.test", spec.test?.value.serialized() ?? "missing", "a .jsonl file of test examples")
            }
            return (try InterventionExample.load(jsonl: train), try InterventionExample.load(jsonl: test), "jsonl:\(train) / \(test)")
        }
        guard spec.builtin == "hierarchical_equality" else {
            throw invalid("data.builtin", spec.builtin.map { "\"\($0)\"" } ?? "missing",
                          "hierarchical_equality, or \"train\"/\"test\" .jsonl files")
        }
        let variableName = spec.variable ?? "left_equality"
        guard let variable = HierarchicalEqualityTask.Variable(rawValue: variableName) else {
            throw invalid("data.variable", "\"\(variableName)\"", "left_equality, right_equality")
        }
        func count(_ v: JSONCodable?, _ field: String, _ fallback: Int) throws -> Int {
            guard let v else { return fallback }
            guard let n = v.value.intValue, n > 0 else { throw invalid(field, v.value.serialized(), "a positive number of examples") }
            return n
        }
        let task = HierarchicalEqualityTask(seed: experiment.seed)
        let train = task.sample(try count(spec.train, "data.train", 10_000), split: .train, seed: experiment.seed)
        let test = task.sample(try count(spec.test, "data.test", 10_000), split: .test, seed: experiment.seed)
        return (task.interventionExamples(train, variable: variable), task.interventionExamples(test, variable: variable),
                "builtin:hierarchical_equality \(variableName)")
    }

    /// Training options from the experiment.
    public func options() throws -> TrainingOptions {
        let t = experiment.training
        var o = TrainingOptions()
        o.seed = experiment.seed
        o.progress = progress
        if let v = t.epochs { guard v > 0 else { throw invalid("training.epochs", "\(v)", "a positive integer") }; o.epochs = v }
        if let v = t.batchSize { guard v > 0 else { throw invalid("training.batch_size", "\(v)", "a positive integer") }; o.batchSize = v }
        if let v = t.learningRate { guard v > 0, v.isFinite else { throw invalid("training.learning_rate", "\(v)", "a positive number") }; o.learningRate = v }
        if let v = t.optimizer {
            guard let kind = OptimizerKind(rawValue: v) else { throw invalid("training.optimizer", "\"\(v)\"", "adam, adamw, sgd") }
            o.optimizer = kind
        }
        if let v = t.boundaryLearningRate { o.parameterLearningRates["intervention_boundaries"] = v }
        if let start = t.temperatureStart, let end = t.temperatureEnd {
            guard start > 0, end > 0 else { throw invalid("training.temperature_start/end", "\(start)/\(end)", "positive temperatures") }
            o.temperature = (start, end)
        }
        if let v = t.warmupFraction { guard (0...1).contains(v) else { throw invalid("training.warmup_fraction", "\(v)", "0…1") }; o.warmupFraction = v }
        if let v = t.gradientAccumulationSteps { guard v > 0 else { throw invalid("training.gradient_accumulation_steps", "\(v)", "a positive integer") }; o.gradientAccumulationSteps = v }
        o.earlyStoppingPatience = t.earlyStoppingPatience
        o.clipGradientNorm = t.clipGradientNorm
        o.boundaryRegularization = t.boundaryRegularization ?? 0
        return o
    }

    /// Metrics as one JSON object on one line, keys sorted (the metrics file and CLI output).
    public static func jsonLine(_ metrics: [String: Double]) -> String {
        "{" + metrics.sorted { $0.key < $1.key }.map { "\"\($0.key)\": \($0.value)" }.joined(separator: ", ") + "}"
    }

    /// Trains, evaluates and saves. Returns the metrics.
    @discardableResult
    public func run(command: String) throws -> [String: Double] {
        let options = try self.options()
        let (model, source, taskAccuracy) = try self.model()
        let (train, test, dataDescription) = try data()
        let collate = InterventionExample.collator(representations: experiment.representations.count, subspaces: experiment.subspaces)
        let config = IntervenableConfig(representations: experiment.representations, interventionTypes: experiment.interventionTypes.map(InterventionType.init))
        let intervenable = try IntervenableModel(config: config, model: model, seed: experiment.seed)
        let trainer = InterventionTrainer(model: intervenable, collator: collate, options: options)
        let start = Date()
        let history = try trainer.train(train)
        let trainSeconds = Date().timeIntervalSince(start)
        var metrics = try trainer.evaluate(test)
        metrics["train_seconds"] = trainSeconds
        metrics["steps"] = Double(history.steps)
        if let taskAccuracy { metrics["task_accuracy"] = taskAccuracy }
        let card = InterventionBundle.Card(
            title: experiment.name,
            task: experiment.data.builtin == "hierarchical_equality"
                ? "Hierarchical equality (pyvene's DAS tutorial): four objects a, b, c, d; the label is (a = b) = (c = d). Intervened variable: \(experiment.data.variable ?? "left_equality")."
                : "Counterfactual examples from \(dataDescription).",
            training: "\(options.epochs) epochs of \(train.count) (base, source) pairs, batch \(options.batchSize), \(options.optimizer.rawValue) lr \(options.learningRate), seed \(experiment.seed); \(history.steps) steps.",
            reproduce: command)
        try InterventionBundle.save(intervenable, to: experiment.output.bundle, modelSource: source, metrics: metrics,
                                    provenance: .init(command: command, seed: experiment.seed, data: dataDescription, subspaces: experiment.subspaces),
                                    card: card)
        if let path = experiment.output.metrics {
            try Data((ExperimentRunner.jsonLine(metrics) + "\n").utf8).write(to: URL(fileURLWithPath: path))
        }
        return metrics
    }
}

/// Writes a model as a Hugging Face-style checkpoint folder (config.json, model.safetensors,
/// README.md), so bundles can name it as their model source.
public enum CheckpointWriter {
    public static func save(_ model: MLPClassifier, config c: MLPClassifierConfiguration, to folder: String, card: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data((c.configJSON + "\n").utf8).write(to: URL(fileURLWithPath: folder + "/config.json"))
        try model.save(to: folder + "/model.safetensors")
        try Data("# Model\n\n\(card)\n".utf8).write(to: URL(fileURLWithPath: folder + "/README.md"))
    }
}
