import Foundation
import Models
import Tensors

/// The scalar whose causes attribution looks for, one value per example, read from the logits
/// (B, S, V) at the last position:
///
///     logit difference   m = logit(target) − logit(distractor)
///     logit              m = logit(target)
///     loss               m = −log softmax(logits)[target]
///     probability        m = softmax(logits)[target]
///
/// Attribution differentiates the sum over the batch; examples are independent, so each row's
/// gradient is that example's own.
public struct AttributionMetric: Sendable {
    /// What the metric measures.
    public enum Kind: Sendable, Equatable {
        case logitDifference(target: Int, distractor: Int)
        case logit(target: Int)
        case loss(target: Int)
        case probability(target: Int)
    }

    public let kind: Kind

    public init(_ kind: Kind) { self.kind = kind }

    /// m = logit(target) − logit(distractor).
    public static func logitDifference(target: Int, distractor: Int) -> AttributionMetric { AttributionMetric(.logitDifference(target: target, distractor: distractor)) }

    /// m = −log p(target).
    public static func loss(target: Int) -> AttributionMetric { AttributionMetric(.loss(target: target)) }

    /// m = p(target) = softmax(logits)[target] (what causal tracing reads).
    public static func probability(target: Int) -> AttributionMetric { AttributionMetric(.probability(target: target)) }

    /// The token ids the metric reads (each must be inside the vocabulary).
    public var tokens: [Int] {
        switch kind {
        case .logitDifference(let t, let d): return [t, d]
        case .logit(let t), .loss(let t), .probability(let t): return [t]
        }
    }

    /// A short description: "logit(5) − logit(6)".
    public var description: String {
        switch kind {
        case .logitDifference(let t, let d): return "logit(\(t)) − logit(\(d))"
        case .logit(let t): return "logit(\(t))"
        case .loss(let t): return "−log p(\(t))"
        case .probability(let t): return "p(\(t))"
        }
    }

    /// The metric of each example (B): `logits` (B, S, V) or (B, V).
    public func values(_ logits: Tensor) -> Tensor {
        let last = logits.atPosition(-1)
        let batch = last.shape[0]
        func logit(_ t: Int) -> Tensor { last.narrowed(1, start: t, length: 1).reshaped([batch]) }
        switch kind {
        case .logitDifference(let t, let d): return logit(t) - logit(d)
        case .logit(let t): return logit(t)
        case .loss(let t): return -last.logSoftmax().narrowed(1, start: t, length: 1).reshaped([batch])
        case .probability(let t): return last.softmax().narrowed(1, start: t, length: 1).reshaped([batch])
        }
    }

    /// The sum of the metric over the batch: the objective gradients are taken of.
    public func objective(_ logits: Tensor) -> Tensor { values(logits).sum() }

    /// Throws naming the token and the vocabulary size when a token is outside it.
    public func check(vocabulary: Int) throws {
        if let bad = tokens.first(where: { $0 < 0 || $0 >= vocabulary }) {
            throw ExperimentError.invalid(file: "attribution", field: "metric token", value: "\(bad)", expected: "a token id in 0..<\(vocabulary)")
        }
    }
}
