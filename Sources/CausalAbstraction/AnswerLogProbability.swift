import Intervene
import Models
import Tensors

extension Metric {
    /// "answer_log_prob": the summed log-probability of each example's answer tokens given the
    /// intervened prompt, teacher-forced, averaged over examples (higher is better; 0 is
    /// certainty).
    ///
    /// It reads batches of `InterventionExample.collator(…, teacherForcing: true)`, whose bases
    /// are prompt + answer with the label position at the prompt's last token: the log-softmax
    /// there scores the label (the answer's first token), and at every later position but the
    /// last it scores the next base token (the answer's next token). On other batches it is the
    /// log-probability of the label at the label position (of the label class for classifier
    /// outputs). IIA keeps reading the first token only.
    public static var answerLogProbability: Metric {
        Metric(name: "answer_log_prob") { output, batch in
            let perExample = answerLogProbabilities(output.intervened.output, batch)
            return (perExample.reduce(0, +), Double(perExample.count))
        }
    }
}

/// Per example of `batch`, the summed log-probability of its answer in `logits` (the intervened
/// output), as `Metric.answerLogProbability` defines it.
public func answerLogProbabilities(_ logits: Tensor, _ batch: InterventionBatch) -> [Double] {
    guard logits.rank == 3, case .tokens(let ids) = batch.base else {
        let values = batch.predictionLogits(logits).logSoftmax().scalars
        let classes = values.count / Swift.max(batch.labels.count, 1)
        return batch.labels.enumerated().map { row, label in Double(values[row * classes + label]) }
    }
    let (rows, length, vocabulary) = (logits.shape[0], logits.shape[1], logits.shape[2])
    let start = batch.labelPosition.map { $0 < 0 ? length + $0 : $0 } ?? length - 1
    let read = Swift.max(1, length - 1 - start)
    let values = logits.narrowed(1, start: start, length: read).logSoftmax().scalars
    return (0..<rows).map { row in
        (0..<read).reduce(0.0) { total, k in
            let target = k == 0 ? batch.labels[row] : ids.values[row * length + start + k + 1]
            return total + Double(values[(row * read + k) * vocabulary + target])
        }
    }
}
