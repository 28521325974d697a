import Foundation
import Intervene
import Models
import Tensors

/// Settings of codebook training on token sequences the caller gives (windows of a text
/// corpus, or any other data).
public struct CodebookCorpusTrainingOptions: Sendable, Equatable {
    /// Adam steps.
    public var steps: Int
    /// Sequences per step.
    public var batchSize: Int
    /// Adam's learning rate (constant).
    public var learningRate: Float
    /// Train the base model's weights as well; false (the default) trains only the codebooks'
    /// codes, γ and β, and the model's weights get no gradient.
    public var trainModel: Bool
    /// Weight of the codebooks' auxiliary losses (1 reproduces codebook-features' backward).
    public var auxiliaryWeight: Float
    /// Replace dead codes after every N-th step (0: never); see `CodebookLayer.replaceDeadCodes`.
    public var replaceDeadEvery: Int
    /// The relative noise of a replaced code.
    public var replacementNoise: Float
    /// Seed of the batch order and of the replacements.
    public var seed: UInt64

    public init(steps: Int, batchSize: Int = 8, learningRate: Float = 1e-3, trainModel: Bool = false, auxiliaryWeight: Float = 1,
                replaceDeadEvery: Int = 0, replacementNoise: Float = 0.01, seed: UInt64 = 0) {
        self.steps = steps
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.trainModel = trainModel
        self.auxiliaryWeight = auxiliaryWeight
        self.replaceDeadEvery = replaceDeadEvery
        self.replacementNoise = replacementNoise
        self.seed = seed
    }
}

/// One finished step, for progress displays.
public struct CodebookTrainingStep: Sendable, Equatable {
    /// 1-based step number, and the total.
    public var step: Int, steps: Int
    /// The step's next-token cross-entropy and summed auxiliary codebook losses.
    public var loss: Float, auxiliaryLoss: Float
    /// Codes replaced after this step (0 when no replacement ran).
    public var replacedCodes: Int
}

/// What a corpus training run did.
public struct CodebookCorpusReport: Sendable, Equatable {
    /// Steps, tokens, time, throughput, last and recent batch losses.
    public var training: TrainingReport
    /// The batch loss of the first step (before any update).
    public var initialLoss: Float
    /// Mean next-token cross-entropy over the evaluation sequences, before and after training.
    public var evaluationLossBefore: Float, evaluationLossAfter: Float
    /// Codes replaced over the run, and the number of replacement rounds.
    public var replacedCodes: Int, replacementRounds: Int
    /// Per-codebook metrics over the evaluation sequences, before and after training.
    public var metricsBefore: [CodebookMetrics], metricsAfter: [CodebookMetrics]
}

/// Trains the codebooks of a `CodebookModel` (and, when asked, the model itself) on token
/// sequences of one length L ≥ 2: each step draws `batchSize` sequences in a seeded order
/// (a new permutation every pass over the data), feeds tokens 0 ..< L−1 and minimises
///
///     loss = CE(logits, tokens 1 ..< L)  +  auxiliaryWeight · Σ_codebooks auxiliary losses
///
/// (the mean next-token cross-entropy over B·(L−1) positions, and `CodebookObjective`'s terms)
/// with Adam. With `replaceDeadEvery` = N, the dead codes of every codebook are replaced after
/// steps N, 2N, … from that window's latest inputs. Trainability is restored afterwards.
public enum CodebookCorpusTraining {
    /// Non-overlapping windows of `length` tokens over `tokens` (a trailing remainder shorter
    /// than `length` is dropped). Throws `invalidOption` for a length below 2.
    public static func windows(_ tokens: [Int], length: Int) throws -> [[Int]] {
        guard length >= 2 else { throw TrainingError.invalidOption(name: "context", value: "\(length)", allowed: "an integer ≥ 2") }
        return stride(from: 0, to: tokens.count - length + 1, by: length).map { Array(tokens[$0..<($0 + length)]) }
    }

    /// Trains on `sequences`; metrics and evaluation losses over `evaluation` (default: the
    /// first `batchSize` sequences). `progress` runs after every step. Throws `TrainingError`
    /// for bad options, no sequences, sequences of different lengths, or a loss that becomes
    /// NaN/infinite (the parameters then keep the values of the last finite step), and the
    /// model's errors for token ids or lengths it cannot take.
    public static func fit(_ codebooks: CodebookModel, sequences: [[Int]], evaluation: [[Int]]? = nil,
                           options: CodebookCorpusTrainingOptions,
                           progress: ((CodebookTrainingStep) -> Void)? = nil) throws -> CodebookCorpusReport {
        try check(options)
        let length = try checkSequences(sequences, field: "sequences")
        let evaluationSet = evaluation ?? Array(sequences.prefix(options.batchSize))
        _ = try checkSequences(evaluationSet, field: "evaluation")
        let model = codebooks.model
        let trainable = configureTrainability(codebooks, trainModel: options.trainModel)
        defer { trainable.restore() }
        let metricsBefore = try CodebookTraining.metrics(codebooks, sequences: evaluationSet)
        let lossBefore = try evaluationLoss(codebooks, sequences: evaluationSet)
        codebooks.resetCodeUsage()
        let optimizer = Adam(trainable.trained, learningRate: options.learningRate)
        var order = BatchOrder(count: sequences.count, seed: options.seed)
        var losses: [Float] = [], auxiliary: Float = 0, replaced = 0, rounds = 0
        let start = Date()
        for step in 0..<options.steps {
            let rows = order.next(options.batchSize).map { sequences[$0] }
            let (lm, extra) = try batchLosses(codebooks, rows: rows, length: length, vocabulary: model.vocabularySize)
            let total = extra.map { lm + $0 * options.auxiliaryWeight } ?? lm
            let value = total.item
            guard value.isFinite else { throw TrainingError.nonFiniteLoss(step: step, epoch: order.epoch, value: value) }
            optimizer.zeroGrad()
            total.backward()
            optimizer.step()
            losses.append(lm.item)
            auxiliary = extra?.item ?? 0
            var replacedNow = 0
            if options.replaceDeadEvery > 0 && (step + 1) % options.replaceDeadEvery == 0 {
                replacedNow = try codebooks.replaceDeadCodes(noise: options.replacementNoise, seed: options.seed &+ UInt64(step)).values.reduce(0, +)
                replaced += replacedNow
                rounds += 1
            }
            progress?(CodebookTrainingStep(step: step + 1, steps: options.steps, loss: lm.item, auxiliaryLoss: auxiliary, replacedCodes: replacedNow))
        }
        let seconds = Date().timeIntervalSince(start)
        let tokens = options.steps * options.batchSize * (length - 1)
        let tail = losses.suffix(Swift.max(1, losses.count / 10))
        let report = TrainingReport(steps: options.steps, tokens: tokens, seconds: seconds,
                                    tokensPerSecond: seconds > 0 ? Double(tokens) / seconds : 0, finalLoss: losses.last ?? 0,
                                    recentLoss: tail.isEmpty ? 0 : tail.reduce(0, +) / Float(tail.count), finalAuxiliaryLoss: auxiliary)
        let lossAfter = try evaluationLoss(codebooks, sequences: evaluationSet)
        let metricsAfter = try CodebookTraining.metrics(codebooks, sequences: evaluationSet)
        return CodebookCorpusReport(training: report, initialLoss: losses.first ?? lossBefore, evaluationLossBefore: lossBefore,
                                    evaluationLossAfter: lossAfter, replacedCodes: replaced, replacementRounds: rounds,
                                    metricsBefore: metricsBefore, metricsAfter: metricsAfter)
    }

    /// Mean next-token cross-entropy of the codebook model over `sequences` (one length ≥ 2),
    /// without gradients.
    public static func evaluationLoss(_ codebooks: CodebookModel, sequences: [[Int]]) throws -> Float {
        let length = try checkSequences(sequences, field: "evaluation")
        return try Tensor.withoutGradients {
            try batchLosses(codebooks, rows: sequences, length: length, vocabulary: codebooks.model.vocabularySize).lm.item
        }
    }

    /// The LM loss of one batch and the summed auxiliary losses (nil without any).
    static func batchLosses(_ codebooks: CodebookModel, rows: [[Int]], length: Int, vocabulary: Int) throws -> (lm: Tensor, auxiliary: Tensor?) {
        let inputs = IndexTensor(shape: [rows.count, length - 1], values: rows.flatMap { $0.dropLast() })
        let out = try codebooks.forward(inputs)
        let lm = Tensor.crossEntropy(logits: out.logits.reshaped([rows.count * (length - 1), vocabulary]), targets: rows.flatMap { $0.dropFirst() })
        let extra = out.auxiliaryLosses.keys.sorted().compactMap { out.auxiliaryLosses[$0] }.reduce(nil as Tensor?) { sum, l in sum.map { $0 + l } ?? l }
        return (lm, extra)
    }

    static func check(_ o: CodebookCorpusTrainingOptions) throws {
        func bad(_ name: String, _ value: Any, _ allowed: String) -> TrainingError { .invalidOption(name: name, value: "\(value)", allowed: allowed) }
        guard o.steps >= 0 else { throw bad("steps", o.steps, "an integer ≥ 0") }
        guard o.batchSize >= 1 else { throw bad("batchSize", o.batchSize, "an integer ≥ 1") }
        guard o.learningRate.isFinite && o.learningRate > 0 else { throw bad("learningRate", o.learningRate, "a finite number > 0") }
        guard o.auxiliaryWeight.isFinite && o.auxiliaryWeight >= 0 else { throw bad("auxiliaryWeight", o.auxiliaryWeight, "a finite number ≥ 0") }
        guard o.replaceDeadEvery >= 0 else { throw bad("replaceDeadEvery", o.replaceDeadEvery, "an integer ≥ 0 (0: never)") }
        guard o.replacementNoise.isFinite && o.replacementNoise >= 0 else { throw bad("replacementNoise", o.replacementNoise, "a finite number ≥ 0") }
    }

    /// The common length of `sequences`; throws for none, or for lengths that differ or are < 2.
    static func checkSequences(_ sequences: [[Int]], field: String) throws -> Int {
        guard let length = sequences.first?.count else { throw TrainingError.emptyDataset(field) }
        if let i = sequences.firstIndex(where: { $0.count != length || $0.count < 2 }) {
            throw TrainingError.invalidBatch(field: "\(field)[\(i)]", value: "\(sequences[i].count) tokens",
                                             allowed: "at least 2 tokens, as many as \(field)[0] (\(length))")
        }
        return length
    }

    /// Makes the codebooks (and the model, when asked) the only trainable parameters; returns the
    /// distinct trained parameters and a way to restore every parameter's trainability.
    static func configureTrainability(_ codebooks: CodebookModel, trainModel: Bool) -> (trained: [Parameter], restore: () -> Void) {
        var seen = Set<ObjectIdentifier>(), all: [Parameter] = []
        for (_, p) in codebooks.model.namedParameters where seen.insert(ObjectIdentifier(p)).inserted { all.append(p) }
        let before = all.map(\.isTrainable)
        var codebookParameters = Set<ObjectIdentifier>()
        for entry in codebooks.entries { for (_, p) in entry.layer.namedParameters { codebookParameters.insert(ObjectIdentifier(p)) } }
        for p in all {
            let train = trainModel || codebookParameters.contains(ObjectIdentifier(p))
            if p.isTrainable != train { p.isTrainable = train }
        }
        return (all.filter(\.isTrainable), {
            for (p, was) in zip(all, before) where p.isTrainable != was { p.isTrainable = was }
        })
    }
}

/// Indices in seeded passes: a new permutation of 0 ..< count (seed + pass) for each pass.
struct BatchOrder {
    let count: Int, seed: UInt64
    private(set) var epoch = 0
    private var queue: [Int] = []

    init(count: Int, seed: UInt64) {
        self.count = count
        self.seed = seed
    }

    /// The next `size` indices (crossing into the next pass when needed), taken from the end
    /// of the current permutation.
    mutating func next(_ size: Int) -> [Int] {
        var out: [Int] = []
        while out.count < size {
            if queue.isEmpty {
                var generator = RandomGenerator(seed: seed &+ UInt64(epoch))
                queue = Array(0..<count)
                queue.shuffle(using: &generator)
            }
            out.append(queue.removeLast())
            if queue.isEmpty { epoch += 1 }
        }
        return out
    }
}
