import Tensors

/// Which optimizer trains the interventions.
public enum OptimizerKind: String, Codable, Sendable {
    case adam, adamw, sgd
}

/// How the learning rate changes over training.
public enum LearningRateShape: String, Codable, Sendable {
    /// Constant after warm-up.
    case constant
    /// Linear decay to 0 after warm-up (transformers' linear schedule).
    case linear
}

/// Settings of a training run.
public struct TrainingOptions: Sendable {
    public var epochs: Int = 1
    public var batchSize: Int = 64
    public var learningRate: Float = 1e-3
    public var optimizer: OptimizerKind = .adam
    public var weightDecay: Float = 0
    /// Learning rates for parameters whose name ends with the key (e.g. "intervention_boundaries").
    public var parameterLearningRates: [String: Float] = [:]
    /// Fraction of the steps spent warming the learning rate up linearly.
    public var warmupFraction: Float = 0
    public var learningRateShape: LearningRateShape = .constant
    /// Temperature of boundary and mask interventions, annealed linearly from `start` to `end`
    /// over the optimizer steps (nil: left as set).
    public var temperature: (start: Float, end: Float)?
    /// λ of the Boundless DAS boundary regulariser: loss + λ · Σ boundaries (favours small
    /// subspaces). 0 disables. It weighs the auxiliary loss "boundary" unless
    /// `auxiliaryLossWeights` names that loss.
    public var boundaryRegularization: Float = 0
    /// Weights of the auxiliary losses interventions return, by loss name: the objective is
    /// loss + Σ weight(name) · auxiliary loss, once per intervention and forward call. Names not
    /// listed weigh 1 ("boundary": `boundaryRegularization`); 0 leaves a loss out.
    public var auxiliaryLossWeights: [String: Float] = [:]
    /// Batches whose gradients are summed before each optimizer step.
    public var gradientAccumulationSteps: Int = 1
    /// Stop when the evaluation metric has not improved for this many evaluations.
    public var earlyStoppingPatience: Int?
    /// The metric early stopping watches (higher is better; "loss" lower is better).
    public var earlyStoppingMetric: String = "iia"
    /// Evaluate every this many optimizer steps (nil: once per epoch).
    public var evaluateEvery: Int?
    /// Clip the global gradient norm to this value.
    public var clipGradientNorm: Float?
    /// Seed of shuffling.
    public var seed: UInt64 = 0
    /// Shuffle the training examples every epoch.
    public var shuffle: Bool = true
    /// Progress display.
    public var progress: ProgressStyle = .automatic

    public init() {}

    /// Throws `TrainingError.invalidOption` naming the first option whose value cannot train
    /// (a batch size or accumulation count below 1, a non-positive learning rate, …).
    public func validate() throws {
        func require(_ ok: Bool, _ name: String, _ value: Any, _ allowed: String) throws {
            guard ok else { throw TrainingError.invalidOption(name: name, value: "\(value)", allowed: allowed) }
        }
        func positive(_ v: Float) -> Bool { v.isFinite && v > 0 }
        try require((1...1_000_000).contains(epochs), "epochs", epochs, "an integer in 1...1000000")
        try require((1...(1 << 24)).contains(batchSize), "batchSize", batchSize, "an integer in 1...\(1 << 24)")
        try require((1...(1 << 24)).contains(gradientAccumulationSteps), "gradientAccumulationSteps", gradientAccumulationSteps,
                    "an integer in 1...\(1 << 24)")
        try require(positive(learningRate), "learningRate", learningRate, "a positive number")
        for (suffix, rate) in parameterLearningRates.sorted(by: { $0.key < $1.key }) {
            try require(positive(rate), "parameterLearningRates[\"\(suffix)\"]", rate, "a positive number")
        }
        try require(weightDecay.isFinite && weightDecay >= 0, "weightDecay", weightDecay, "a number ≥ 0")
        try require((0...1).contains(warmupFraction), "warmupFraction", warmupFraction, "0…1")
        if let (start, end) = temperature {
            try require(positive(start) && positive(end), "temperature", "(\(start), \(end))", "positive start and end temperatures")
        }
        try require(boundaryRegularization.isFinite && boundaryRegularization >= 0, "boundaryRegularization", boundaryRegularization, "a number ≥ 0")
        if let p = earlyStoppingPatience { try require(p >= 1, "earlyStoppingPatience", p, "a positive integer (or nil)") }
        if let n = evaluateEvery { try require(n >= 1, "evaluateEvery", n, "a positive number of steps (or nil)") }
        if let c = clipGradientNorm { try require(positive(c), "clipGradientNorm", c, "a positive number (or nil)") }
        for (name, weight) in auxiliaryLossWeights.sorted(by: { $0.key < $1.key }) {
            try require(weight.isFinite && weight >= 0, "auxiliaryLossWeights[\"\(name)\"]", weight, "a number ≥ 0")
        }
    }

    /// The weight of auxiliary loss `name` in the objective.
    public func auxiliaryLossWeight(_ name: String) -> Float {
        auxiliaryLossWeights[name] ?? (name == BoundlessRotatedSpaceIntervention.boundaryLossName ? boundaryRegularization : 1)
    }
}

/// What the trainer prints while it works.
public enum ProgressStyle: Sendable {
    /// A live bar on a terminal, plain lines otherwise.
    case automatic
    /// Plain lines.
    case lines
    /// Nothing.
    case silent
}
