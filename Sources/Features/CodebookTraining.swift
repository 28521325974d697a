import Foundation
import Models
import Tensors

/// Settings of one training run on TokFSM sequences.
public struct TokFSMTrainingOptions: Sendable, Equatable {
    /// Adam steps.
    public var steps: Int
    /// Sequences per step.
    public var batchSize: Int
    /// States per training sequence (1 + states·digits tokens).
    public var statesPerSequence: Int
    /// Adam's peak learning rate.
    public var learningRate: Float
    /// Steps of linear warm-up to `learningRate` (0: none).
    public var warmupSteps: Int
    /// Whether the rate decays linearly to 0 after the warm-up (false: constant, as the
    /// reference's toy runs).
    public var decay: Bool
    /// Weight of the codebooks' auxiliary losses (1 reproduces codebook-features' backward).
    public var auxiliaryWeight: Float
    /// Every this many steps, codes no token selected since the last replacement are re-drawn
    /// from recent inputs (`CodebookModel.replaceDeadCodes`); 0 never.
    public var replaceDeadCodesEvery: Int
    /// Seed of the batches (step i draws its batch from seed + i).
    public var seed: UInt64

    public init(steps: Int, batchSize: Int = 32, statesPerSequence: Int = 16, learningRate: Float = 3e-3,
                warmupSteps: Int = 0, decay: Bool = false, auxiliaryWeight: Float = 1, replaceDeadCodesEvery: Int = 0,
                seed: UInt64 = 0) {
        self.replaceDeadCodesEvery = replaceDeadCodesEvery
        self.steps = steps
        self.batchSize = batchSize
        self.statesPerSequence = statesPerSequence
        self.learningRate = learningRate
        self.warmupSteps = warmupSteps
        self.decay = decay
        self.auxiliaryWeight = auxiliaryWeight
        self.seed = seed
    }
}

/// What a training run did.
public struct TrainingReport: Sendable, Equatable {
    public var steps: Int
    /// Input tokens processed (steps · batch · (sequence length − 1)).
    public var tokens: Int
    public var seconds: Double
    public var tokensPerSecond: Double
    /// Next-token cross-entropy of the last step, and the mean over the last 10% of steps.
    public var finalLoss: Float, recentLoss: Float
    /// The summed auxiliary codebook losses of the last step (0 without codebooks).
    public var finalAuxiliaryLoss: Float

    public init(steps: Int, tokens: Int, seconds: Double, tokensPerSecond: Double, finalLoss: Float, recentLoss: Float,
                finalAuxiliaryLoss: Float) {
        self.steps = steps
        self.tokens = tokens
        self.seconds = seconds
        self.tokensPerSecond = tokensPerSecond
        self.finalLoss = finalLoss
        self.recentLoss = recentLoss
        self.finalAuxiliaryLoss = finalAuxiliaryLoss
    }
}

/// Metrics of one codebook over an evaluation batch.
public struct CodebookMetrics: Sendable, Equatable {
    /// "L0.mlp", "L1.attn_preproj.g2".
    public var name: String
    public var codeCount: Int
    /// Distinct codes selected at least once.
    public var activeCodes: Int
    /// 1 − activeCodes / codeCount.
    public var deadFraction: Double
    /// mean over elements of (out − ln(x))², the snap's reconstruction error in LayerNorm space.
    public var reconstructionMSE: Double
}

/// Trains small decoders on TokFSM from scratch, with or without codebooks (codebook-features'
/// toy runs): next-token cross-entropy on BOS + digit sequences drawn on the fly, plus the
/// codebooks' auxiliary losses (`CodebookObjective`) weighted by `auxiliaryWeight`, with Adam.
public enum CodebookTraining {
    /// A GPT-NeoX decoder sized for `fsm` (vocabulary b + 1), weights from N(0, 0.02²) with `seed`.
    public static func gptNeoX(for fsm: TokFSM, width: Int, layers: Int, heads: Int, intermediate: Int? = nil,
                               contextLength: Int = 256, seed: UInt64) throws -> DecoderModel {
        let json = JSONObject([
            ("model_type", .string("gpt_neox")), ("vocab_size", .int(fsm.vocabularySize)), ("hidden_size", .int(width)),
            ("num_hidden_layers", .int(layers)), ("num_attention_heads", .int(heads)),
            ("intermediate_size", .int(intermediate ?? 4 * width)), ("max_position_embeddings", .int(contextLength)),
        ])
        let model = try GPTNeoXFamily.family.model(ModelConfig(json: json))
        model.initializeRandomly(seed: seed, std: 0.02)
        return model
    }

    /// Trains `model` (and the codebooks inserted in it, when `codebooks` wraps it) on `fsm`.
    /// Every parameter is trained; the model is frozen again afterwards. Throws `TokFSMError` for
    /// a bad option and the model's errors for sequences longer than its context. `progress` is
    /// called after every step with the step index (from 0) and its cross-entropy.
    public static func fit(_ model: DecoderModel, codebooks: CodebookModel? = nil, on fsm: TokFSM,
                           options: TokFSMTrainingOptions,
                           progress: ((_ step: Int, _ loss: Float) -> Void)? = nil) throws -> TrainingReport {
        try check(options)
        try model.unfreeze()
        defer { model.freeze() }
        let optimizer = Adam(model.namedParameters.map(\.parameter), learningRate: options.learningRate)
        let schedule = options.decay
            ? LearningRateSchedule.linearWarmupDecay(warmupSteps: options.warmupSteps, totalSteps: options.steps)
            : LearningRateSchedule.linearWarmup(steps: options.warmupSteps)
        let length = fsm.digits * options.statesPerSequence
        var losses: [Float] = [], auxiliary: Float = 0
        let start = Date()
        for step in 0..<options.steps {
            let rows = fsm.batch(count: options.batchSize, states: options.statesPerSequence, seed: options.seed &+ UInt64(step))
            let inputs = IndexTensor(shape: [rows.count, length], values: rows.flatMap { $0.dropLast() })
            let targets = rows.flatMap { $0.dropFirst() }
            let logits: Tensor, extra: Tensor?
            if let codebooks {
                let out = try codebooks.forward(inputs)
                logits = out.logits
                extra = out.auxiliaryLosses.values.reduce(nil as Tensor?) { sum, loss in sum.map { $0 + loss } ?? loss }
            } else {
                logits = try model.forward(.tokens(inputs), options: ForwardOptions()).logits
                extra = nil
            }
            let lm = Tensor.crossEntropy(logits: logits.reshaped([rows.count * length, fsm.vocabularySize]), targets: targets)
            let total = extra.map { lm + $0 * options.auxiliaryWeight } ?? lm
            optimizer.zeroGrad()
            total.backward()
            schedule.apply(to: optimizer, step: step)
            optimizer.step()
            losses.append(lm.item)
            if let codebooks, options.replaceDeadCodesEvery > 0, (step + 1) % options.replaceDeadCodesEvery == 0, step + 1 < options.steps {
                _ = try codebooks.replaceDeadCodes(seed: options.seed &+ UInt64(step))
            }
            progress?(step, lm.item)
            auxiliary = extra?.item ?? 0
        }
        let seconds = Date().timeIntervalSince(start)
        let tokens = options.steps * options.batchSize * length
        let tail = losses.suffix(Swift.max(1, losses.count / 10))
        return TrainingReport(steps: options.steps, tokens: tokens, seconds: seconds,
                              tokensPerSecond: seconds > 0 ? Double(tokens) / seconds : 0, finalLoss: losses.last ?? 0,
                              recentLoss: tail.isEmpty ? 0 : tail.reduce(0, +) / Float(tail.count), finalAuxiliaryLoss: auxiliary)
    }

    private static func check(_ options: TokFSMTrainingOptions) throws {
        guard options.steps >= 0 else { throw TokFSMError.invalid(field: "steps", value: "\(options.steps)", allowed: "an integer ≥ 0") }
        guard options.batchSize >= 1 else {
            throw TokFSMError.invalid(field: "batchSize", value: "\(options.batchSize)", allowed: "an integer ≥ 1")
        }
        guard options.statesPerSequence >= 2 else {
            throw TokFSMError.invalid(field: "statesPerSequence", value: "\(options.statesPerSequence)", allowed: "an integer ≥ 2")
        }
        guard options.replaceDeadCodesEvery >= 0 else {
            throw TokFSMError.invalid(field: "replaceDeadCodesEvery", value: "\(options.replaceDeadCodesEvery)", allowed: "an integer ≥ 0 (0: never)")
        }
        guard options.warmupSteps >= 0 else {
            throw TokFSMError.invalid(field: "warmupSteps", value: "\(options.warmupSteps)", allowed: "an integer ≥ 0")
        }
        guard options.learningRate.isFinite && options.learningRate > 0 else {
            throw TokFSMError.invalid(field: "learningRate", value: "\(options.learningRate)", allowed: "a finite number > 0")
        }
    }

    /// Samples `count` sequences of `states` states from `model` (temperature 1, from BOS, seeded)
    /// and scores them with `fsm.transitionAccuracy` — the reference's evaluation.
    public static func sampledAccuracy(_ model: any CausalLanguageModel, fsm: TokFSM, count: Int, states: Int,
                                       seed: UInt64) throws -> TransitionAccuracy {
        let prompt = IndexTensor(shape: [count, 1], values: Array(repeating: fsm.bosToken, count: count))
        let config = GenerationConfig(maxNewTokens: states * fsm.digits, strategy: .sample(temperature: 1), seed: seed)
        let result = try Tensor.withoutGradients { try Generator.generate(model, prompt: prompt, config: config) }
        return fsm.transitionAccuracy(tokenSequences: result.sequences)
    }

    /// Per-codebook metrics over `sequences` (token rows of one length), codebooks enabled; a
    /// group layer reports each group ("L0.attn_preproj.g1") over its own features.
    public static func metrics(_ codebooks: CodebookModel, sequences: [[Int]]) throws -> [CodebookMetrics] {
        guard let length = sequences.first?.count, length > 0 else { return [] }
        let ids = IndexTensor(shape: [sequences.count, length], values: sequences.flatMap { $0 })
        _ = try Tensor.withoutGradients { try codebooks.forward(ids) }
        var list: [CodebookMetrics] = []
        for entry in codebooks.entries {
            guard let snap = entry.layer.lastSnap, let xn = snap.normalized else { continue }
            let out = snap.output.scalars, normalized = xn.scalars
            let members: [(String, CodebookLayer)]
            switch entry.layer {
            case let single as CodebookLayer: members = [(entry.name, single)]
            case let group as GroupCodebookLayer: members = group.groups.enumerated().map { ("\(entry.name).g\($0)", $1) }
            default: members = []
            }
            let width = members.reduce(0) { $0 + $1.1.width }
            for (g, (name, layer)) in members.enumerated() {
                guard let codes = layer.lastSnap?.codes else { continue }
                let active = Set(codes.values.filter { $0 >= 0 }).count
                let columns = (g * layer.width)..<((g + 1) * layer.width)
                var sum = 0.0
                for row in 0..<(out.count / width) {
                    for c in columns { let d = Double(out[row * width + c] - normalized[row * width + c]); sum += d * d }
                }
                list.append(CodebookMetrics(name: name, codeCount: layer.codeCount, activeCodes: active,
                                            deadFraction: 1 - Double(active) / Double(layer.codeCount),
                                            reconstructionMSE: sum / Double(Swift.max(1, out.count / width * layer.width))))
            }
        }
        return list
    }
}
