import Tensors

/// The (N, C) logits that labels are read from: the slice at `position` of a sequence output
/// (B, S, C) (negative counts from the end), or the output itself when it has no sequence axis.
/// Throws `TrainingError.invalidBatch` for a position outside the sequence.
public func labelLogits(_ output: Tensor, position: Int?) throws -> Tensor {
    if let p = position, output.rank == 3 {
        let length = output.shape[1]
        guard p >= -length && p < length else {
            throw TrainingError.invalidBatch(field: "labelPosition", value: "\(p)", allowed: "\(-length)..<\(length) (the output has \(length) positions)")
        }
    }
    return output.atPosition(position)
}

/// Throws `TrainingError.invalidBatch` unless `labels` holds one class index in 0..<C per row of
/// the (N, C) `logits` (what cross-entropy and accuracy read).
public func checkLabels(_ labels: [Int], logits: Tensor) throws {
    guard logits.rank == 2 else {
        throw TrainingError.invalidBatch(field: "logits", value: "shape \(logits.shape)", allowed: "(N, classes) logits (give a label position for sequence outputs)")
    }
    let rows = logits.shape[0], classes = logits.shape[1]
    guard labels.count == rows else {
        throw TrainingError.invalidBatch(field: "labels", value: "\(labels.count) labels", allowed: "one label per example (\(rows))")
    }
    for (i, label) in labels.enumerated() where label < 0 || label >= classes {
        throw TrainingError.invalidBatch(field: "labels[\(i)]", value: "\(label)", allowed: "a class index in 0..<\(classes) (the classes of the model's output)")
    }
}
