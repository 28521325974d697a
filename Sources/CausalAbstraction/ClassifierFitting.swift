import Models
import Tensors

/// Trains a whole model on labelled inputs (for the small task models that alignments are
/// searched in; pretrained checkpoints are loaded, not trained).
public enum ClassifierFitting {
    /// Minimises cross-entropy of `model(inputs[i])` against `labels[i]` with Adam, seeded
    /// mini-batches of `batchSize`. Logits are read at `position` for sequence outputs.
    public static func fit(_ model: any HookableModel, inputs: Tensor, labels: [Int], epochs: Int, learningRate: Float,
                           batchSize: Int = 64, position: Int? = nil, seed: UInt64) {
        fit(model, count: labels.count, input: { .embeddings(inputs.indexSelect(axis: 0, indices: $0)) }, labels: labels,
            epochs: epochs, learningRate: learningRate, batchSize: batchSize, position: position, seed: seed)
    }

    /// The same for any input: `input(indices)` builds the batch of those examples.
    public static func fit(_ model: any HookableModel, count: Int, input: ([Int]) -> ModelInput, labels: [Int], epochs: Int,
                           learningRate: Float, batchSize: Int = 64, position: Int? = nil, seed: UInt64) {
        model.unfreeze()
        let optimizer = Adam(model.namedParameters.map(\.parameter), learningRate: learningRate)
        var g = RandomGenerator(seed: seed)
        for _ in 0..<epochs {
            var order = Array(0..<count)
            order.shuffle(using: &g)
            for start in stride(from: 0, to: order.count, by: batchSize) {
                let idx = Array(order[start..<Swift.min(start + batchSize, order.count)])
                guard let logits = try? model.forward(input(idx), options: ForwardOptions()).output else { continue }
                let loss = Tensor.crossEntropy(logits: select(logits, position), targets: idx.map { labels[$0] })
                optimizer.zeroGrad()
                loss.backward()
                optimizer.step()
            }
        }
        model.freeze()
    }

    /// Fraction of inputs classified correctly.
    public static func accuracy(_ model: any HookableModel, inputs: Tensor, labels: [Int], position: Int? = nil) -> Double {
        accuracy(model, input: .embeddings(inputs), labels: labels, position: position)
    }

    /// Fraction of examples of `input` classified correctly.
    public static func accuracy(_ model: any HookableModel, input: ModelInput, labels: [Int], position: Int? = nil) -> Double {
        Tensor.withoutGradients {
            guard let logits = try? model.forward(input, options: ForwardOptions()).output else { return 0 }
            let predictions = select(logits, position).argmax(axis: -1).values
            return Double(zip(predictions, labels).filter { $0 == $1 }.count) / Double(Swift.max(labels.count, 1))
        }
    }

    static func select(_ logits: Tensor, _ position: Int?) -> Tensor {
        guard let position, logits.rank == 3 else { return logits }
        let p = position < 0 ? logits.shape[1] + position : position
        return logits.narrowed(1, start: p, length: 1).reshaped([logits.shape[0], logits.shape[2]])
    }
}

/// Trains a causal language model on token sequences by next-token prediction.
public enum LanguageModelFitting {
    /// Minimises the mean cross-entropy of predicting token t+1 from tokens ≤ t over all
    /// positions, with Adam and seeded mini-batches. Sequences must share one length.
    public static func fit(_ model: any CausalLanguageModel, sequences: [[Int]], epochs: Int, learningRate: Float,
                           batchSize: Int = 32, seed: UInt64) {
        guard let length = sequences.first?.count, length > 1 else { return }
        model.unfreeze()
        let optimizer = Adam(model.namedParameters.map(\.parameter), learningRate: learningRate)
        var g = RandomGenerator(seed: seed)
        for _ in 0..<epochs {
            var order = Array(sequences.indices)
            order.shuffle(using: &g)
            for start in stride(from: 0, to: order.count, by: batchSize) {
                let rows = order[start..<Swift.min(start + batchSize, order.count)].map { sequences[$0] }
                let inputs = IndexTensor(shape: [rows.count, length - 1], values: rows.flatMap { $0.dropLast() })
                guard let logits = try? model.forward(.tokens(inputs), options: ForwardOptions()).output else { continue }
                let flat = logits.reshaped([rows.count * (length - 1), logits.shape[2]])
                let loss = Tensor.crossEntropy(logits: flat, targets: rows.flatMap { $0.dropFirst() })
                optimizer.zeroGrad()
                loss.backward()
                optimizer.step()
            }
        }
        model.freeze()
    }
}
