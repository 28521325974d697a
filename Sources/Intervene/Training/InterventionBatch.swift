import Models
import Tensors

/// One batch of intervention training or evaluation: what the IntervenableModel runs and the
/// labels the intervened output should produce.
public struct InterventionBatch {
    /// Base inputs.
    public var base: ModelInput
    /// Source inputs (one per group, or one for all).
    public var sources: [ModelInput]?
    /// Where each intervention reads and writes.
    public var unitLocations: UnitLocations?
    /// Per intervention, per example: subspaces (or partition ids).
    public var subspaces: Subspaces?
    /// Per example: the class or token the intervened model should predict (the counterfactual
    /// label of the high-level causal model).
    public var labels: [Int]
    /// The sequence position the labels refer to (−1: last); nil for classifiers whose output is
    /// (B, classes).
    public var labelPosition: Int?

    public init(base: ModelInput, sources: [ModelInput]? = nil, unitLocations: UnitLocations? = nil, subspaces: Subspaces? = nil,
                labels: [Int], labelPosition: Int? = nil) {
        self.base = base
        self.sources = sources
        self.unitLocations = unitLocations
        self.subspaces = subspaces
        self.labels = labels
        self.labelPosition = labelPosition
    }

    /// The logits the labels refer to, (B, classes).
    public func predictionLogits(_ output: Tensor) -> Tensor { output.atPosition(labelPosition) }

    /// Throws `TrainingError.invalidBatch` unless the label position lies inside a sequence
    /// output (B, S, C) and every label is a class of the output: what the loss and the metrics
    /// read, checked before they read it.
    public func checkLabels(against output: Tensor) throws {
        try Intervene.checkLabels(labels, logits: try labelLogits(output, position: labelPosition))
    }
}

/// A quantity measured on batches and averaged (weighted) over a dataset.
public struct Metric {
    /// Name in reports ("iia", "loss", …).
    public let name: String
    /// (value × weight, weight) for one batch.
    public let measure: (InterventionOutput, InterventionBatch) -> (sum: Double, weight: Double)

    public init(name: String, measure: @escaping (InterventionOutput, InterventionBatch) -> (sum: Double, weight: Double)) {
        self.name = name
        self.measure = measure
    }

    /// Interchange-intervention accuracy: the fraction of examples whose intervened prediction
    /// (argmax at the label position) equals the counterfactual label.
    public static var interchangeInterventionAccuracy: Metric { Metric(name: "iia") { output, batch in
        let predictions = batch.predictionLogits(output.intervened.output).argmax(axis: -1).values
        let correct = zip(predictions, batch.labels).filter { $0 == $1 }.count
        return (Double(correct), Double(batch.labels.count))
    } }

    /// Mean cross-entropy of the intervened prediction against the labels.
    public static var crossEntropy: Metric { Metric(name: "loss") { output, batch in
        let loss = Tensor.crossEntropy(logits: batch.predictionLogits(output.intervened.output), targets: batch.labels)
        return (Double(loss.item) * Double(batch.labels.count), Double(batch.labels.count))
    } }
}

/// The objective most alignments train with: cross-entropy of the intervened prediction
/// against the counterfactual labels.
public func counterfactualCrossEntropy(_ output: InterventionOutput, _ batch: InterventionBatch) -> Tensor {
    Tensor.crossEntropy(logits: batch.predictionLogits(output.intervened.output), targets: batch.labels)
}
