import Foundation
import Models
import Tensors

/// Training stopped on a problem it cannot continue from.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    /// The loss became NaN or infinite; the parameters keep their values from the last step.
    case nonFiniteLoss(step: Int, epoch: Int, value: Float)
    /// The loss was finite but its gradient was not (norm NaN or infinite); the step was not
    /// applied.
    case nonFiniteGradient(step: Int, epoch: Int, norm: Float)
    /// Nothing to train or evaluate on.
    case emptyDataset(String)
    /// The model has no trainable intervention parameters.
    case nothingToTrain

    public var description: String {
        switch self {
        case .nonFiniteLoss(let step, let epoch, let value):
            return "loss became \(value) at step \(step) (epoch \(epoch)); the interventions keep their values from the last finite step"
        case .nonFiniteGradient(let step, let epoch, let norm):
            return "gradient norm became \(norm) at step \(step) (epoch \(epoch)); the step was not applied and the interventions keep their values from step \(step - 1)"
        case .emptyDataset(let which): return "the \(which) set is empty"
        case .nothingToTrain: return "no intervention has trainable parameters"
        }
    }
}

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

    /// Trains; evaluates on `evaluation` once per epoch (or every `evaluateEvery` steps).
    @discardableResult
    public func train(_ train: [Example], evaluation: [Example]? = nil) throws -> TrainingHistory {
        guard !train.isEmpty else { throw TrainingError.emptyDataset("training") }
        let o = options
        let optimizer = try makeOptimizer()
        let batchesPerEpoch = (train.count + o.batchSize - 1) / o.batchSize
        let totalSteps = Swift.max(1, o.epochs * batchesPerEpoch / Swift.max(o.gradientAccumulationSteps, 1))
        let warmup = Int(Float(totalSteps) * o.warmupFraction)
        let schedule = o.learningRateShape == .linear
            ? LearningRateSchedule.linearWarmupDecay(warmupSteps: warmup, totalSteps: totalSteps)
            : LearningRateSchedule.linearWarmup(steps: warmup)
        var history = TrainingHistory()
        var generator = RandomGenerator(seed: o.seed)
        let progress = ProgressReporter(total: totalSteps, label: "train", style: o.progress)
        var best: Double?
        var sinceBest = 0
        var micro = 0
        var runningLoss: Float = 0
        var lastMetrics: [String: Double] = [:]
        setTemperature(step: 0, total: totalSteps)
        epochs: for epoch in 0..<o.epochs {
            var order = Array(train.indices)
            if o.shuffle { order.shuffle(using: &generator) }
            for start in stride(from: 0, to: order.count, by: o.batchSize) {
                let examples = order[start..<Swift.min(start + o.batchSize, order.count)].map { train[$0] }
                let batch = try collator(examples)
                let output = try model.forward(base: batch.base, sources: batch.sources, unitLocations: batch.unitLocations, subspaces: batch.subspaces)
                var objective = loss(output, batch)
                for term in model.auxiliaryLossTerms(output) {
                    let weight = o.auxiliaryLossWeight(term.name)
                    if weight != 0 { objective = objective + term.loss * weight }
                }
                let value = objective.item
                // A non-finite loss or gradient throws before the optimizer step, so the
                // parameters are those of the last good step without keeping a copy.
                guard value.isFinite else {
                    optimizer.zeroGrad()
                    progress.note("stopping: loss \(value) at step \(history.steps + 1)")
                    throw TrainingError.nonFiniteLoss(step: history.steps + 1, epoch: epoch + 1, value: value)
                }
                (o.gradientAccumulationSteps > 1 ? objective * (1 / Float(o.gradientAccumulationSteps)) : objective).backward()
                runningLoss += value
                micro += 1
                guard micro % o.gradientAccumulationSteps == 0 else { continue }
                let norm = o.clipGradientNorm.map { optimizer.clipGradientNorm($0) } ?? optimizer.gradientNorm()
                guard norm.isFinite else {
                    optimizer.zeroGrad()
                    progress.note("stopping: gradient norm \(norm) at step \(history.steps + 1)")
                    throw TrainingError.nonFiniteGradient(step: history.steps + 1, epoch: epoch + 1, norm: norm)
                }
                schedule.apply(to: optimizer, step: history.steps)
                optimizer.step()
                optimizer.zeroGrad()
                history.steps += 1
                let stepLoss = runningLoss / Float(o.gradientAccumulationSteps)
                runningLoss = 0
                history.losses.append((history.steps, stepLoss))
                setTemperature(step: history.steps, total: totalSteps)
                let evaluateNow = o.evaluateEvery.map { history.steps % $0 == 0 } ?? false
                if evaluateNow, let evaluation {
                    lastMetrics = try evaluate(evaluation)
                    history.evaluations.append((history.steps, lastMetrics))
                    if checkEarlyStop(lastMetrics, best: &best, sinceBest: &sinceBest) {
                        history.stoppedEarly = true
                        break epochs
                    }
                }
                progress.update(step: history.steps) { [("loss", Double(stepLoss))] + lastMetrics.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }
            }
            if o.evaluateEvery == nil, let evaluation {
                lastMetrics = try evaluate(evaluation)
                history.evaluations.append((history.steps, lastMetrics))
                progress.note("epoch \(epoch + 1): " + lastMetrics.sorted { $0.key < $1.key }.map { String(format: "%@ %.4f", $0.key, $0.value) }.joined(separator: "  "))
                if checkEarlyStop(lastMetrics, best: &best, sinceBest: &sinceBest) {
                    history.stoppedEarly = true
                    break
                }
            }
        }
        progress.update(step: totalSteps, values: { [("loss", Double(history.losses.last?.loss ?? 0))] }, force: true)
        return history
    }

    func checkEarlyStop(_ metrics: [String: Double], best: inout Double?, sinceBest: inout Int) -> Bool {
        guard let patience = options.earlyStoppingPatience, let value = metrics[options.earlyStoppingMetric] else { return false }
        let score = options.earlyStoppingMetric == "loss" ? -value : value
        if best == nil || score > best! + 1e-9 {
            best = score
            sinceBest = 0
            return false
        }
        sinceBest += 1
        return sinceBest >= patience
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
        var sums = [Double](repeating: 0, count: metrics.count), weights = sums
        try Tensor.withoutGradients {
            for start in stride(from: 0, to: data.count, by: options.batchSize) {
                let batch = try collator(Array(data[start..<Swift.min(start + options.batchSize, data.count)]))
                let output = try model.forward(base: batch.base, sources: batch.sources, unitLocations: batch.unitLocations, subspaces: batch.subspaces)
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
