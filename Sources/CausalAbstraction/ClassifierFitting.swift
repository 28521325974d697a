import Models
import Tensors

/// Trains a whole model on labelled inputs (for the small task models that alignments are
/// searched in; pretrained checkpoints are loaded, not trained).
public enum ClassifierFitting {
    /// Minimises cross-entropy of `model(inputs[i])` against `labels[i]` with Adam, seeded
    /// mini-batches of `batchSize`. Logits are read at `position` for sequence outputs.
    public static func fit(_ model: any HookableModel, inputs: Tensor, labels: [Int], epochs: Int, learningRate: Float,
                           batchSize: Int = 64, position: Int? = nil, seed: UInt64) {
        model.unfreeze()
        let optimizer = Adam(model.namedParameters.map(\.parameter), learningRate: learningRate)
        var g = RandomGenerator(seed: seed)
        for _ in 0..<epochs {
            var order = Array(labels.indices)
            order.shuffle(using: &g)
            for start in stride(from: 0, to: order.count, by: batchSize) {
                let idx = Array(order[start..<Swift.min(start + batchSize, order.count)])
                let logits = (try? model.forward(.embeddings(inputs.indexSelect(axis: 0, indices: idx)), options: ForwardOptions()).output) ?? Tensor.zeros([0])
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
        Tensor.withoutGradients {
            guard let logits = try? model.forward(.embeddings(inputs), options: ForwardOptions()).output else { return 0 }
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
