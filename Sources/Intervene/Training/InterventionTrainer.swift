import Foundation
import Models
import Tensors

/// What a training run produced.
public struct TrainingHistory: Sendable {
    /// (step, loss) of every optimizer step.
    public var losses: [(step: Int, loss: Float)] = []
    /// (step, metrics) of every evaluation.
    public var evaluations: [(step: Int, metrics: [String: Double])] = []
    /// Optimizer steps taken.
    public var steps = 0
    /// True when early stopping ended training.
    public var stoppedEarly = false
}

/// Interventions that anneal a temperature (Boundless DAS, sigmoid masks).
public protocol TemperatureControlled: AnyObject {
    func setTemperature(_ value: Float)
}

extension BoundlessRotatedSpaceIntervention: TemperatureControlled {
    public func setTemperature(_ value: Float) { temperature.assign(Tensor(scalar: value)) }
}

extension SigmoidMaskRotatedSpaceIntervention: TemperatureControlled {
    public func setTemperature(_ value: Float) { temperature.assign(Tensor(scalar: value)) }
}

extension SigmoidMaskIntervention: TemperatureControlled {
    public func setTemperature(_ value: Float) { temperature = value }
}

/// Trains the interventions of an IntervenableModel (the model stays frozen) on a dataset of
/// examples that a collator turns into batches; evaluates metrics such as IIA.
public final class InterventionTrainer<Example> {
    public let model: IntervenableModel
    public let collator: ([Example]) throws -> InterventionBatch
    public let loss: (InterventionOutput, InterventionBatch) -> Tensor
    public let metrics: [Metric]
    public var options: TrainingOptions

    public init(model: IntervenableModel, collator: @escaping ([Example]) throws -> InterventionBatch,
                loss: @escaping (InterventionOutput, InterventionBatch) -> Tensor = counterfactualCrossEntropy,
                metrics: [Metric] = [.interchangeInterventionAccuracy], options: TrainingOptions = TrainingOptions()) {
        self.model = model
        self.collator = collator
        self.loss = loss
        self.metrics = metrics
        self.options = options
    }

    /// Unique interventions (linked ones once).
    var uniqueInterventions: [any Intervention] {
        var seen = Set<ObjectIdentifier>()
        return model.interventions.filter { seen.insert(ObjectIdentifier($0)).inserted }
    }

    func makeOptimizer() throws -> Optimizer {
        let named = model.trainableParameters
        guard !named.isEmpty else { throw TrainingError.nothingToTrain }
        var groups: [ParameterGroup] = []
        var rest: [Parameter] = []
        var special: [String: [Parameter]] = [:]
        for (name, p) in named {
            if let suffix = options.parameterLearningRates.keys.first(where: { name.hasSuffix($0) }) { special[suffix, default: []].append(p) } else { rest.append(p) }
        }
        if !rest.isEmpty { groups.append(ParameterGroup(rest, learningRate: options.learningRate, weightDecay: options.weightDecay)) }
        for (suffix, params) in special.sorted(by: { $0.key < $1.key }) {
            groups.append(ParameterGroup(params, learningRate: options.parameterLearningRates[suffix]!, weightDecay: options.weightDecay))
        }
        switch options.optimizer {
        case .adam: return Adam(groups: groups)
        case .adamw: return Adam(groups: groups, decoupledWeightDecay: true)
        case .sgd: return SGD(groups: groups, momentum: 0.9)
        }
    }

    /// Trains; evaluates on `evaluation` once per epoch (or every `evaluateEvery` steps) and
    /// stops early when `earlyStoppingPatience` evaluations bring no improvement. Throws
    /// `TrainingError.invalidOption` before the first step for options that cannot train
    /// (including early stopping without evaluation examples to watch).
    @discardableResult
    public func train(_ train: [Example], evaluation: [Example]? = nil) throws -> TrainingHistory {
        guard !train.isEmpty else { throw TrainingError.emptyDataset("training") }
        try checkOptions(evaluation: evaluation)
        let o = options
        let optimizer = try makeOptimizer()
        let batchesPerEpoch = (train.count + Swift.min(o.batchSize, train.count) - 1) / Swift.min(o.batchSize, train.count)
        let (steps, overflow) = o.epochs.multipliedReportingOverflow(by: batchesPerEpoch)
        guard !overflow else {
            throw TrainingError.invalidOption(name: "epochs", value: "\(o.epochs)", allowed: "a number of epochs whose steps fit in an integer")
        }
        let totalSteps = Swift.max(1, steps / o.gradientAccumulationSteps)
        let schedule = learningRateSchedule(totalSteps: totalSteps)
        var history = TrainingHistory()
        var generator = RandomGenerator(seed: o.seed)
        let progress = ProgressReporter(total: totalSteps, label: "train", style: o.progress)
        var stopping = EarlyStopping(patience: o.earlyStoppingPatience, metric: o.earlyStoppingMetric)
        var micro = 0
        var runningLoss: Float = 0
        var lastMetrics: [String: Double] = [:]
        /// Evaluates and records; true when early stopping ends training.
        func evaluateAndCheck() throws -> Bool {
            guard let evaluation else { return false }
            lastMetrics = try evaluate(evaluation)
            history.evaluations.append((history.steps, lastMetrics))
            history.stoppedEarly = stopping.shouldStop(lastMetrics)
            return history.stoppedEarly
        }
        setTemperature(step: 0, total: totalSteps)
        epochs: for epoch in 0..<o.epochs {
            var order = Array(train.indices)
            if o.shuffle { order.shuffle(using: &generator) }
            for start in stride(from: 0, to: order.count, by: o.batchSize) {
                let examples = order[start..<Swift.min(start + o.batchSize, order.count)].map { train[$0] }
                runningLoss += try accumulateGradients(examples, optimizer, step: history.steps + 1, epoch: epoch + 1, progress)
                micro += 1
                guard micro % o.gradientAccumulationSteps == 0 else { continue }
                try applyStep(optimizer, schedule, step: history.steps + 1, epoch: epoch + 1, progress)
                history.steps += 1
                let stepLoss = runningLoss / Float(o.gradientAccumulationSteps)
                runningLoss = 0
                history.losses.append((history.steps, stepLoss))
                setTemperature(step: history.steps, total: totalSteps)
                if let every = o.evaluateEvery, history.steps % every == 0, try evaluateAndCheck() { break epochs }
                progress.update(step: history.steps) { [("loss", Double(stepLoss))] + lastMetrics.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }
            }
            if o.evaluateEvery == nil, evaluation != nil {
                let stop = try evaluateAndCheck()
                progress.note("epoch \(epoch + 1): " + lastMetrics.sorted { $0.key < $1.key }.map { String(format: "%@ %.4f", $0.key, $0.value) }.joined(separator: "  "))
                if stop { break }
            }
        }
        progress.update(step: totalSteps, values: { [("loss", Double(history.losses.last?.loss ?? 0))] }, force: true)
        return history
    }

    /// Validates the options, and that early stopping has evaluation examples and a metric to
    /// watch.
    func checkOptions(evaluation: [Example]?) throws {
        try options.validate()
        guard let patience = options.earlyStoppingPatience else { return }
        guard let evaluation, !evaluation.isEmpty else {
            throw TrainingError.invalidOption(name: "earlyStoppingPatience", value: "\(patience)",
                                              allowed: "nil unless train(_:evaluation:) gets evaluation examples for early stopping to watch")
        }
        let names = metrics.map(\.name)
        guard names.contains(options.earlyStoppingMetric) else {
            throw TrainingError.invalidOption(name: "earlyStoppingMetric", value: "\"\(options.earlyStoppingMetric)\"",
                                              allowed: "a metric the trainer computes: \(names.joined(separator: ", "))")
        }
    }

    func learningRateSchedule(totalSteps: Int) -> LearningRateSchedule {
        let warmup = Int(Float(totalSteps) * options.warmupFraction)
        return options.learningRateShape == .linear
            ? LearningRateSchedule.linearWarmupDecay(warmupSteps: warmup, totalSteps: totalSteps)
            : LearningRateSchedule.linearWarmup(steps: warmup)
    }

    /// Runs one batch forward and backward (gradients are summed until the optimizer step) and
    /// returns its loss. A non-finite loss throws before its gradients reach the parameters.
    func accumulateGradients(_ examples: [Example], _ optimizer: Optimizer, step: Int, epoch: Int, _ progress: ProgressReporter) throws -> Float {
        let o = options
        let batch = try collator(examples)
        let output = try model.forward(base: batch.base, sources: batch.sources, unitLocations: batch.unitLocations, subspaces: batch.subspaces)
        try batch.checkLabels(against: output.intervened.output)
        var objective = loss(output, batch)
        for term in model.auxiliaryLossTerms(output) {
            let weight = o.auxiliaryLossWeight(term.name)
            if weight != 0 { objective = objective + term.loss * weight }
        }
        let value = objective.item
        // A non-finite loss or gradient throws before the optimizer step, so the parameters
        // are those of the last good step without keeping a copy.
        guard value.isFinite else {
            optimizer.zeroGrad()
            progress.note("stopping: loss \(value) at step \(step)")
            throw TrainingError.nonFiniteLoss(step: step, epoch: epoch, value: value)
        }
        (o.gradientAccumulationSteps > 1 ? objective * (1 / Float(o.gradientAccumulationSteps)) : objective).backward()
        return value
    }

    /// Clips, checks and applies the summed gradients as optimizer step `step`.
    func applyStep(_ optimizer: Optimizer, _ schedule: LearningRateSchedule, step: Int, epoch: Int, _ progress: ProgressReporter) throws {
        let norm = options.clipGradientNorm.map { optimizer.clipGradientNorm($0) } ?? optimizer.gradientNorm()
        guard norm.isFinite else {
            optimizer.zeroGrad()
            progress.note("stopping: gradient norm \(norm) at step \(step)")
            throw TrainingError.nonFiniteGradient(step: step, epoch: epoch, norm: norm)
        }
        schedule.apply(to: optimizer, step: step - 1)
        optimizer.step()
        optimizer.zeroGrad()
    }

    /// Sets the annealed temperature for optimizer step `step` of `total`.
    func setTemperature(step: Int, total: Int) {
        guard let (start, end) = options.temperature else { return }
        let t = start + (end - start) * Float(step) / Float(Swift.max(total - 1, 1))
        for case let c as TemperatureControlled in uniqueInterventions { c.setTemperature(Swift.max(Swift.min(t, Swift.max(start, end)), Swift.min(start, end))) }
    }

    /// Every metric averaged over `data` (no gradients).
    public func evaluate(_ data: [Example]) throws -> [String: Double] {
        guard !data.isEmpty else { throw TrainingError.emptyDataset("evaluation") }
        try options.validate()
        let names = metrics.map(\.name)
        guard Set(names).count == names.count else {
            throw TrainingError.invalidOption(name: "metrics", value: "\(names)", allowed: "metrics with distinct names")
        }
        var sums = [Double](repeating: 0, count: metrics.count), weights = sums
        try Tensor.withoutGradients {
            for start in stride(from: 0, to: data.count, by: options.batchSize) {
                let batch = try collator(Array(data[start..<Swift.min(start + options.batchSize, data.count)]))
                let output = try model.forward(base: batch.base, sources: batch.sources, unitLocations: batch.unitLocations, subspaces: batch.subspaces)
                try batch.checkLabels(against: output.intervened.output)
                for (i, m) in metrics.enumerated() {
                    let (s, w) = m.measure(output, batch)
                    sums[i] += s
                    weights[i] += w
                }
            }
        }
        return Dictionary(uniqueKeysWithValues: metrics.indices.map { (metrics[$0].name, weights[$0] > 0 ? sums[$0] / weights[$0] : 0) })
    }
}

/// Counts evaluations without improvement of the watched metric (higher is better; "loss"
/// lower is better).
struct EarlyStopping {
    let patience: Int?
    let metric: String
    private var best: Double?
    private var sinceBest = 0

    init(patience: Int?, metric: String) {
        self.patience = patience
        self.metric = metric
    }

    /// Records one evaluation; true once `patience` evaluations in a row did not improve.
    mutating func shouldStop(_ metrics: [String: Double]) -> Bool {
        guard let patience, let value = metrics[metric] else { return false }
        let score = metric == "loss" ? -value : value
        if let best, score <= best + 1e-9 {
            sinceBest += 1
            return sinceBest >= patience
        }
        best = score
        sinceBest = 0
        return false
    }
}
