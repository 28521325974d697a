import Intervene
import Models
import Tensors

/// Trains whole models (the small task models that alignments are searched in; pretrained
/// checkpoints are loaded, not trained): Adam over seeded mini-batches, then frozen.
enum ModelFitting {
    /// Unfreezes `model`, runs `epochs` of Adam over shuffled batches of `count` examples with
    /// `loss(indices)`, and freezes it again (also when a forward pass throws).
    static func fit(_ model: any HookableModel, count: Int, epochs: Int, learningRate: Float, batchSize: Int, seed: UInt64,
                    loss: ([Int]) throws -> Tensor) throws {
        guard epochs >= 0 else { throw TrainingError.invalidOption(name: "epochs", value: "\(epochs)", allowed: "an integer ≥ 0") }
        guard batchSize >= 1 else { throw TrainingError.invalidOption(name: "batchSize", value: "\(batchSize)", allowed: "a positive integer") }
        try model.unfreeze()
        defer { model.freeze() }
        let optimizer = Adam(model.namedParameters.map(\.parameter), learningRate: learningRate)
        var g = RandomGenerator(seed: seed)
        for _ in 0..<epochs {
            var order = Array(0..<count)
            order.shuffle(using: &g)
            for start in stride(from: 0, to: order.count, by: batchSize) {
                let objective = try loss(Array(order[start..<Swift.min(start + batchSize, order.count)]))
                optimizer.zeroGrad()
                objective.backward()
                optimizer.step()
            }
        }
    }
}

/// Trains a classifier on labelled inputs.
public enum ClassifierFitting {
    /// Minimises cross-entropy of `model(inputs[i])` against `labels[i]` with Adam, seeded
    /// mini-batches of `batchSize`. Logits are read at `position` for sequence outputs.
    public static func fit(_ model: any HookableModel, inputs: Tensor, labels: [Int], epochs: Int, learningRate: Float,
                           batchSize: Int = 64, position: Int? = nil, seed: UInt64) throws {
        try fit(model, count: labels.count, input: { .embeddings(inputs.indexSelect(axis: 0, indices: $0)) }, labels: labels,
                epochs: epochs, learningRate: learningRate, batchSize: batchSize, position: position, seed: seed)
    }

    /// The same for any input: `input(indices)` builds the batch of those examples.
    public static func fit(_ model: any HookableModel, count: Int, input: ([Int]) -> ModelInput, labels: [Int], epochs: Int,
                           learningRate: Float, batchSize: Int = 64, position: Int? = nil, seed: UInt64) throws {
        guard labels.count == count else {
            throw TrainingError.invalidBatch(field: "labels", value: "\(labels.count) labels", allowed: "one label per example (\(count))")
        }
        try ModelFitting.fit(model, count: count, epochs: epochs, learningRate: learningRate, batchSize: batchSize, seed: seed) { idx in
            let logits = try labelLogits(try model.forward(input(idx), options: ForwardOptions()).output, position: position)
            let targets = idx.map { labels[$0] }
            try checkLabels(targets, logits: logits)
            return Tensor.crossEntropy(logits: logits, targets: targets)
        }
    }

    /// Fraction of inputs classified correctly.
    public static func accuracy(_ model: any HookableModel, inputs: Tensor, labels: [Int], position: Int? = nil) throws -> Double {
        try accuracy(model, input: .embeddings(inputs), labels: labels, position: position)
    }

    /// Fraction of examples of `input` classified correctly.
    public static func accuracy(_ model: any HookableModel, input: ModelInput, labels: [Int], position: Int? = nil) throws -> Double {
        try Tensor.withoutGradients {
            let logits = try labelLogits(try model.forward(input, options: ForwardOptions()).output, position: position)
            try checkLabels(labels, logits: logits)
            let predictions = logits.argmax(axis: -1).values
            return Double(zip(predictions, labels).filter { $0 == $1 }.count) / Double(Swift.max(labels.count, 1))
        }
    }
}

/// Trains a causal language model on token sequences by next-token prediction.
public enum LanguageModelFitting {
    /// Minimises the mean cross-entropy of predicting token t+1 from tokens ≤ t over all
    /// positions, with Adam and seeded mini-batches. Sequences must share one length.
    public static func fit(_ model: any CausalLanguageModel, sequences: [[Int]], epochs: Int, learningRate: Float,
                           batchSize: Int = 32, seed: UInt64) throws {
        guard let length = sequences.first?.count, length > 1 else { return }
        if let i = sequences.firstIndex(where: { $0.count != length }) {
            throw TrainingError.invalidBatch(field: "sequences[\(i)]", value: "\(sequences[i].count) tokens", allowed: "\(length) tokens, the length of sequences[0]")
        }
        try ModelFitting.fit(model, count: sequences.count, epochs: epochs, learningRate: learningRate, batchSize: batchSize, seed: seed) { idx in
            let rows = idx.map { sequences[$0] }
            let inputs = IndexTensor(shape: [rows.count, length - 1], values: rows.flatMap { $0.dropLast() })
            let logits = try model.forward(.tokens(inputs), options: ForwardOptions()).output
            let flat = logits.reshaped([rows.count * (length - 1), logits.shape[2]])
            let targets = rows.flatMap { $0.dropFirst() }
            try checkLabels(targets, logits: flat)
            return Tensor.crossEntropy(logits: flat, targets: targets)
        }
    }
}
