import Tensors

/// Probe input that cannot be used, naming the field, the bad value and what is allowed.
public enum ProbeError: Error, CustomStringConvertible, Equatable {
    case invalid(field: String, value: String, allowed: String)

    public var description: String {
        switch self {
        case .invalid(let field, let value, let allowed): return "probe field '\(field)' has value \(value); allowed: \(allowed)"
        }
    }
}

/// Settings of a probe fit. Defaults suit a few hundred to a few thousand rows.
public struct ProbeOptions: Sendable {
    /// Passes over the training rows.
    public var epochs = 100
    /// Adam step size.
    public var learningRate: Float = 0.05
    /// L2 penalty λ on the weight matrix (not the bias): Adam's gradient gets + λ·W.
    public var weightDecay: Float = 1e-3
    /// Rows per Adam step.
    public var batchSize = 128
    /// Share of rows held out for the test accuracy, in (0, 1).
    public var testFraction = 0.25
    /// Seeds the train/test split and the mini-batch order.
    public var seed: UInt64 = 0
    /// Number of classes C; nil means 1 + the largest label.
    public var classes: Int? = nil

    public init() {}
}

/// A multinomial logistic-regression probe: logits = ((x − μ) / σ) · W + b, with μ, σ the
/// per-feature mean and standard deviation of the training rows, W of shape (D, C) and b (C).
public struct LinearProbe: Sendable {
    /// (D, C) weights over standardised features.
    public let weight: Tensor
    /// (C) biases.
    public let bias: Tensor
    /// Per-feature training mean μ and reciprocal standard deviation 1/σ (1 for constant features).
    public let mean: [Float], inverseScale: [Float]

    /// Standardises (N, D) rows with the training statistics.
    func standardised(_ rows: Tensor) -> Tensor {
        let d = mean.count
        return (rows - Tensor(shape: [1, d], values: mean)) * Tensor(shape: [1, d], values: inverseScale)
    }

    /// The predicted class (argmax of the logits) of each of the (N, D) rows.
    public func predict(_ rows: Tensor) -> [Int] {
        Tensor.withoutGradients { (standardised(rows).matmul(weight) + bias).argmax(axis: -1).values }
    }

    /// Fraction of `rows` whose prediction equals the label (0 for no rows).
    public func accuracy(_ rows: Tensor, labels: [Int]) -> Double {
        guard !labels.isEmpty else { return 0 }
        return Double(zip(predict(rows), labels).filter { $0 == $1 }.count) / Double(labels.count)
    }
}

/// A fitted probe with its split and accuracies.
public struct ProbeResult: Sendable {
    public let probe: LinearProbe
    /// Row indices used for training and for testing (disjoint, in split order).
    public let trainRows: [Int], testRows: [Int]
    public let trainAccuracy: Double, testAccuracy: Double
}

/// Fits linear probes on collected activations.
public enum LinearProbing {
    /// Checks (N, D) `rows` against `labels` and returns (N, D, C).
    static func validate(_ rows: Tensor, labels: [Int], options: ProbeOptions) throws -> (n: Int, d: Int, classes: Int) {
        guard rows.rank == 2 else { throw ProbeError.invalid(field: "rows", value: "shape \(rows.shape)", allowed: "a rank-2 (N, D) tensor") }
        let n = rows.shape[0], d = rows.shape[1]
        guard n >= 2, d >= 1 else { throw ProbeError.invalid(field: "rows", value: "shape \(rows.shape)", allowed: "at least 2 rows and 1 feature") }
        guard labels.count == n else {
            throw ProbeError.invalid(field: "labels", value: "\(labels.count) labels", allowed: "one label per row (\(n))")
        }
        let classes = options.classes ?? (labels.max() ?? 0) + 1
        guard classes >= 1 else { throw ProbeError.invalid(field: "classes", value: "\(classes)", allowed: "an integer ≥ 1") }
        if let i = labels.firstIndex(where: { $0 < 0 || $0 >= classes }) {
            throw ProbeError.invalid(field: "labels[\(i)]", value: "\(labels[i])", allowed: "0..<\(classes)")
        }
        guard options.testFraction > 0, options.testFraction < 1 else {
            throw ProbeError.invalid(field: "testFraction", value: "\(options.testFraction)", allowed: "a number in (0, 1)")
        }
        guard options.epochs >= 0 else { throw ProbeError.invalid(field: "epochs", value: "\(options.epochs)", allowed: "an integer ≥ 0") }
        guard options.batchSize >= 1 else { throw ProbeError.invalid(field: "batchSize", value: "\(options.batchSize)", allowed: "an integer ≥ 1") }
        guard options.learningRate > 0, options.learningRate.isFinite else {
            throw ProbeError.invalid(field: "learningRate", value: "\(options.learningRate)", allowed: "a finite number > 0")
        }
        guard options.weightDecay >= 0 else { throw ProbeError.invalid(field: "weightDecay", value: "\(options.weightDecay)", allowed: "a number ≥ 0") }
        return (n, d, classes)
    }

    /// A seeded split of 0..<n: round(n · testFraction) test rows (at least 1, at most n − 1).
    public static func split(count n: Int, testFraction: Double, seed: UInt64) -> (train: [Int], test: [Int]) {
        var order = Array(0..<n)
        var g = RandomGenerator(seed: seed)
        order.shuffle(using: &g)
        let tests = Swift.min(Swift.max(Int((Double(n) * testFraction).rounded()), 1), n - 1)
        return (Array(order[tests...]), Array(order[..<tests]))
    }

    /// Trains a probe on a seeded split of (N, D) `rows` with integer `labels`: Adam on the mean
    /// cross-entropy of seeded mini-batches plus L2 decay on W, W and b starting at zero.
    public static func fit(rows: Tensor, labels: [Int], options: ProbeOptions = ProbeOptions()) throws -> ProbeResult {
        let (n, d, classes) = try validate(rows, labels: labels, options: options)
        let (train, test) = split(count: n, testFraction: options.testFraction, seed: options.seed)
        let x = rows.contiguous().detached()
        let (mean, inverseScale) = statistics(x.scalars, columns: d, rows: train)
        let scaler = LinearProbe(weight: .zeros([d, classes]), bias: .zeros([classes]), mean: mean, inverseScale: inverseScale)
        let features = Tensor.withoutGradients { scaler.standardised(x) }
        let weight = Parameter(.zeros([d, classes])), bias = Parameter(.zeros([classes]))
        let optimizer = Adam(groups: [ParameterGroup([weight], learningRate: options.learningRate, weightDecay: options.weightDecay),
                                      ParameterGroup([bias], learningRate: options.learningRate)])
        var g = RandomGenerator(seed: options.seed &+ 1)
        var order = train
        for _ in 0..<options.epochs {
            order.shuffle(using: &g)
            for start in stride(from: 0, to: order.count, by: options.batchSize) {
                let batch = Array(order[start..<Swift.min(start + options.batchSize, order.count)])
                let logits = features.indexSelect(axis: 0, indices: batch).matmul(weight.value) + bias.value
                let loss = Tensor.crossEntropy(logits: logits, targets: batch.map { labels[$0] })
                optimizer.zeroGrad()
                loss.backward()
                optimizer.step()
            }
        }
        let probe = LinearProbe(weight: weight.value.detached(), bias: bias.value.detached(), mean: mean, inverseScale: inverseScale)
        func accuracy(_ subset: [Int]) -> Double { probe.accuracy(x.indexSelect(axis: 0, indices: subset), labels: subset.map { labels[$0] }) }
        return ProbeResult(probe: probe, trainRows: train, testRows: test, trainAccuracy: accuracy(train), testAccuracy: accuracy(test))
    }

    /// Per-column mean and 1/std over the given rows of a row-major (·, columns) buffer.
    static func statistics(_ values: [Float], columns d: Int, rows: [Int]) -> (mean: [Float], inverseScale: [Float]) {
        var sum = [Double](repeating: 0, count: d), squares = [Double](repeating: 0, count: d)
        for r in rows {
            for j in 0..<d {
                let v = Double(values[r * d + j])
                sum[j] += v
                squares[j] += v * v
            }
        }
        let count = Double(Swift.max(rows.count, 1))
        let mean = sum.map { $0 / count }
        let inverseScale = (0..<d).map { j -> Float in
            let std = Swift.max(squares[j] / count - mean[j] * mean[j], 0).squareRoot()
            return std > 1e-6 ? Float(1 / std) : 1
        }
        return (mean.map(Float.init), inverseScale)
    }
}
