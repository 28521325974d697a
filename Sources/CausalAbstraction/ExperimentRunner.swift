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
    /// The tokenizer for text data (e.g. the one `ModelLoader` loaded with the model); nil:
    /// see `resolvedTokenizer()`.
    public var tokenizer: (any Tokenizer)?
    /// A model already built or loaded, returned by `model()` instead of building it again (a
    /// sweep builds the model once for all its cells).
    public var preparedModel: PreparedModel?
    /// Training and test examples already read, used by `run` instead of `data()`.
    public var preparedData: (train: [InterventionExample], test: [InterventionExample], description: String)?

    /// What `model()` returns: the model, the source recorded in bundles, a built-in model's
    /// task accuracy and the tokenizer stored with the model.
    public typealias PreparedModel = (model: any HookableModel, source: String, taskAccuracy: Double?, tokenizer: (any Tokenizer)?)

    public init(experiment: Experiment, file: String) {
        self.experiment = experiment
        self.file = file
    }

    func invalid(_ field: String, _ value: String, _ expected: String) -> ExperimentError {
        .invalid(file: file, field: field, value: value, expected: expected)
    }

    /// The model the experiment names (`path`: a checkpoint folder, a .gguf file or a Hugging
    /// Face repo id in the local cache), the source string recorded in bundles, and the tokenizer
    /// stored with the model.
    public func model() throws -> PreparedModel {
        if let preparedModel { return preparedModel }
        let spec = experiment.model
        if let path = spec.path {
            let loaded = try ModelLoader.load(named: path)
            return (loaded.model, path, nil, loaded.tokenizer)
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
            return (model, source, accuracy, nil)
        default:
            throw invalid("model.builtin", "\"\(builtin)\"", "hierarchical_equality_mlp")
        }
    }

    /// Training options from the experiment; a value training cannot use throws
    /// `ExperimentError` naming its field in the file.
    public func options() throws -> TrainingOptions {
        let t = experiment.training
        var o = TrainingOptions()
        o.seed = experiment.seed
        o.progress = progress
        if let v = t.epochs { o.epochs = v }
        if let v = t.batchSize { o.batchSize = v }
        if let v = t.learningRate { o.learningRate = v }
        if let v = t.optimizer {
            guard let kind = OptimizerKind(rawValue: v) else { throw invalid("training.optimizer", "\"\(v)\"", "adam, adamw, sgd") }
            o.optimizer = kind
        }
        if let v = t.boundaryLearningRate { o.parameterLearningRates["intervention_boundaries"] = v }
        switch (t.temperatureStart, t.temperatureEnd) {
        case let (start?, end?): o.temperature = (start, end)
        case (let start?, nil):
            throw invalid("training.temperature_end", "missing", "a positive temperature to anneal to from temperature_start (\(start)); give both or neither")
        case (nil, let end?):
            throw invalid("training.temperature_start", "missing", "a positive temperature to anneal from to temperature_end (\(end)); give both or neither")
        case (nil, nil): break
        }
        if let v = t.warmupFraction { o.warmupFraction = v }
        if let v = t.gradientAccumulationSteps { o.gradientAccumulationSteps = v }
        o.earlyStoppingPatience = t.earlyStoppingPatience
        if let v = t.earlyStoppingMetric {
            guard ["iia", "loss"].contains(v) else { throw invalid("training.early_stopping_metric", "\"\(v)\"", "iia, loss") }
            o.earlyStoppingMetric = v
        }
        o.clipGradientNorm = t.clipGradientNorm
        o.boundaryRegularization = t.boundaryRegularization ?? 0
        do { try o.validate() } catch TrainingError.invalidOption(let name, let value, let allowed) {
            throw invalid(ExperimentRunner.optionFields[name] ?? "training", value, allowed)
        }
        return o
    }

    /// The experiment file field of each `TrainingOptions` option.
    static let optionFields = [
        "epochs": "training.epochs", "batchSize": "training.batch_size", "learningRate": "training.learning_rate",
        "parameterLearningRates[\"intervention_boundaries\"]": "training.boundary_learning_rate", "warmupFraction": "training.warmup_fraction",
        "temperature": "training.temperature_start/end", "boundaryRegularization": "training.boundary_regularization",
        "gradientAccumulationSteps": "training.gradient_accumulation_steps", "earlyStoppingPatience": "training.early_stopping_patience",
        "clipGradientNorm": "training.clip_gradient_norm",
    ]

    /// The validation fraction: `validation_fraction`, else 0.1 when early stopping is on and 0
    /// otherwise. Early stopping needs a positive one.
    public func validationFraction() throws -> Double {
        let t = experiment.training
        let fraction = t.validationFraction ?? (t.earlyStoppingPatience == nil ? 0 : 0.1)
        guard fraction >= 0 && fraction < 1 else { throw invalid("training.validation_fraction", "\(fraction)", "a fraction in 0..<1") }
        if t.earlyStoppingPatience != nil && fraction == 0 {
            throw invalid("training.validation_fraction", "\(fraction)", "a fraction in (0, 1) of the training examples for early stopping to watch")
        }
        return fraction
    }

    /// Holds out `validationFraction()` of the training examples (at least one when positive,
    /// chosen by the seed); the rest keep their order and train.
    public func validationSplit(_ examples: [InterventionExample]) throws -> (train: [InterventionExample], validation: [InterventionExample]) {
        let fraction = try validationFraction()
        guard fraction > 0 else { return (examples, []) }
        let count = Swift.max(1, Int((fraction * Double(examples.count)).rounded()))
        guard count < examples.count else {
            throw invalid("training.validation_fraction", "\(fraction)", "a fraction that leaves training examples (there are \(examples.count))")
        }
        var generator = RandomGenerator(seed: experiment.seed &+ 0x5EED)
        let held = Set(Array(examples.indices).shuffled(using: &generator).prefix(count))
        return (examples.indices.filter { !held.contains($0) }.map { examples[$0] }, held.sorted().map { examples[$0] })
    }

    /// Metrics as one JSON object on one line, keys sorted (the metrics file and CLI output).
    public static func jsonLine(_ metrics: [String: Double]) -> String {
        "{" + metrics.sorted { $0.key < $1.key }.map { "\"\($0.key)\": \($0.value)" }.joined(separator: ", ") + "}"
    }

    /// Trains (evaluating the validation split after every epoch, where early stopping
    /// watches it; an intervention without trainable parameters is not trained), evaluates on the test examples and saves. Returns the metrics, with
    /// "answer_log_prob" (`Metric.answerLogProbability`) when test examples of a causal language
    /// model have answer tokens (text labels).
    @discardableResult
    public func run(command: String) throws -> [String: Double] {
        let options = try self.options()
        _ = try validationFraction()
        let (model, source, taskAccuracy, modelTokenizer) = try self.model()
        let (examples, test, dataDescription) = try preparedData ?? data(classes: InterventionExample.labelClasses(of: model),
                                                         tokenizer: tokenizer ?? (experiment.model.tokenizer == nil ? modelTokenizer : nil))
        let (train, validation) = try validationSplit(examples)
        let config = IntervenableConfig(representations: experiment.representations, interventionTypes: experiment.interventionTypes.map(InterventionType.init))
        let intervenable = try IntervenableModel(config: config, model: model, seed: experiment.seed)
        let start = Date()
        let batching = ExampleBatching(train + validation + test, size: options.batchSize)
        let trainer = self.trainer(intervenable, batching, metrics: [.interchangeInterventionAccuracy] + (options.earlyStoppingMetric == "loss" ? [.crossEntropy] : []),
                                   options: options)
        // Interventions without parameters (vanilla interchange, zero ablation) are evaluated untrained.
        let history: TrainingHistory? = intervenable.trainableParameters.isEmpty ? nil
            : try trainer.train(batching.units(train, shuffleSeed: experiment.seed), evaluation: validation.isEmpty ? nil : batching.units(validation))
        let trainSeconds = Date().timeIntervalSince(start)
        var metrics = try trainer.evaluate(batching.units(test))
        if model is any CausalLanguageModel, test.contains(where: { $0.answerTokens != nil }), test.allSatisfy({ $0.base.isTokens }) {
            let forced = ExampleBatching(test, size: options.batchSize, teacherForcing: true)
            metrics.merge(try self.trainer(intervenable, forced, metrics: [.answerLogProbability], options: options).evaluate(forced.units(test))) { $1 }
        }
        metrics["train_seconds"] = trainSeconds
        metrics["steps"] = Double(history?.steps ?? 0)
        if !validation.isEmpty {
            for (name, value) in history?.evaluations.last?.metrics ?? [:] { metrics["validation_" + name] = value }
            metrics["stopped_early"] = history?.stoppedEarly == true ? 1 : 0
        }
        if let taskAccuracy { metrics["task_accuracy"] = taskAccuracy }
        try save(intervenable, metrics: metrics, source: source, data: dataDescription, command: command, options: options,
                 examples: (train.count, validation.count), history: history)
        return metrics
    }

    /// A trainer over `batching`'s units with the experiment's collator.
    func trainer(_ intervenable: IntervenableModel, _ batching: ExampleBatching, metrics: [Metric],
                 options: TrainingOptions) -> InterventionTrainer<[InterventionExample]> {
        let collate = InterventionExample.collator(representations: experiment.representations.count, subspaces: experiment.subspaces,
                                                   teacherForcing: batching.teacherForcing)
        var unitOptions = options
        unitOptions.batchSize = batching.trainerBatchSize
        return InterventionTrainer(model: intervenable, collator: { try collate($0.flatMap { $0 }) }, metrics: metrics, options: unitOptions)
    }

    /// Writes the bundle (with its card) and the metrics file.
    func save(_ intervenable: IntervenableModel, metrics: [String: Double], source: String, data dataDescription: String, command: String,
              options: TrainingOptions, examples: (train: Int, validation: Int), history: TrainingHistory?) throws {
        let card = InterventionBundle.Card(
            title: experiment.name,
            task: experiment.data.builtin == "hierarchical_equality"
                ? "Hierarchical equality (pyvene's DAS tutorial): four objects a, b, c, d; the label is (a = b) = (c = d). Intervened variable: \(experiment.data.variable ?? "left_equality")."
                : "Counterfactual examples from \(dataDescription).",
            training: "\(options.epochs) epochs of \(examples.train) (base, source) pairs\(examples.validation == 0 ? "" : " (\(examples.validation) more held out for validation\(history?.stoppedEarly == true ? "; stopped early" : ""))"), batch \(options.batchSize), \(options.optimizer.rawValue) lr \(options.learningRate), seed \(experiment.seed); \(history.map { "\($0.steps) steps" } ?? "nothing to train: evaluated as is").",
            reproduce: command)
        try InterventionBundle.save(intervenable, to: experiment.output.bundle, modelSource: source, metrics: metrics,
                                    provenance: .init(command: command, seed: experiment.seed, data: dataDescription, subspaces: experiment.subspaces),
                                    card: card)
        if let path = experiment.output.metrics {
            try Data((ExperimentRunner.jsonLine(metrics) + "\n").utf8).write(to: URL(fileURLWithPath: path))
        }
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
