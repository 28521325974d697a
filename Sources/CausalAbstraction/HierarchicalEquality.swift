import Intervene
import Models
import Tensors

/// The hierarchical-equality task of pyvene's DAS tutorial (Geiger et al.): four objects a, b,
/// c, d, each a random 4-d embedding out of 100; the label is (a = b) = (c = d).
///
/// The high-level causal model has two intermediate variables, WX = (a = b) ("left equality")
/// and YZ = (c = d) ("right equality"). An interchange intervention on WX with a source input
/// sets it to the source's value: the counterfactual label is (source.WX = base.YZ).
public struct HierarchicalEqualityTask: Sendable {
    /// Which intermediate variable an intervention targets.
    public enum Variable: String, Sendable, Codable {
        case leftEquality = "left_equality"
        case rightEquality = "right_equality"
    }

    /// One (base, source) pair with its labels.
    public struct Example: Sendable, Equatable {
        /// Object ids of the base input (4 values < 100).
        public var base: [Int]
        /// Object ids of the source input.
        public var source: [Int]

        public var baseLeft: Bool { base[0] == base[1] }
        public var baseRight: Bool { base[2] == base[3] }
        public var sourceLeft: Bool { source[0] == source[1] }
        public var sourceRight: Bool { source[2] == source[3] }
        /// The task label of the base input.
        public var label: Int { baseLeft == baseRight ? 1 : 0 }

        /// The label after setting `variable` to the source's value.
        public func counterfactualLabel(_ variable: Variable) -> Int {
            switch variable {
            case .leftEquality: return sourceLeft == baseRight ? 1 : 0
            case .rightEquality: return baseLeft == sourceRight ? 1 : 0
            }
        }
    }

    public static let objectCount = 4
    public static let vocabularySize = 100
    public static let embeddingDimension = 4
    /// Width of one input: 4 objects × 4 dimensions.
    public static let inputWidth = objectCount * embeddingDimension

    /// The object embeddings (100 × 4).
    public let embeddings: Tensor

    /// Embeddings drawn from N(0, 1) with `seed`.
    public init(seed: UInt64) {
        embeddings = Tensor.randomNormal([HierarchicalEqualityTask.vocabularySize, HierarchicalEqualityTask.embeddingDimension], seed: seed)
    }

    /// Draws object ids; each equality is forced with probability ½ (so labels are balanced).
    public static func sampleObjects(using g: inout RandomGenerator) -> [Int] {
        var ids = (0..<objectCount).map { _ in g.nextInt(below: vocabularySize) }
        if g.nextUniform() < 0.5 { ids[1] = ids[0] }
        if g.nextUniform() < 0.5 { ids[3] = ids[2] }
        return ids
    }

    /// An experiment's two samples: training pairs are drawn with seed + 10, test pairs with
    /// seed + 11, so every tool that names (seed, split) sees the same pairs.
    public enum Split: UInt64, Sendable { case train = 10, test = 11 }

    /// The `split` pairs of the experiment seeded with `seed`.
    public func sample(_ count: Int, split: Split, seed: UInt64) -> [Example] { sample(count, seed: seed &+ split.rawValue) }

    /// `count` independent (base, source) pairs.
    public func sample(_ count: Int, seed: UInt64) -> [Example] {
        var g = RandomGenerator(seed: seed)
        return (0..<count).map { _ in
            Example(base: HierarchicalEqualityTask.sampleObjects(using: &g), source: HierarchicalEqualityTask.sampleObjects(using: &g))
        }
    }

    /// Input embeddings (B, 1, 16) of object-id rows.
    public func inputs(_ rows: [[Int]]) -> Tensor {
        let ids = IndexTensor(shape: [rows.count, HierarchicalEqualityTask.objectCount], values: Array(rows.joined()))
        return Tensor.withoutGradients { Tensor.embedding(embeddings, ids: ids).reshaped([rows.count, 1, HierarchicalEqualityTask.inputWidth]) }
    }

    /// A collator for an interchange intervention on `variable` at unit position 0 of every
    /// representation, with the given per-representation subspaces (partition ids): the
    /// examples as `interventionExamples`, batched by `InterventionExample.collator`.
    public func collator(variable: Variable, representations: Int = 1, subspaces: [Int]? = nil) -> ([Example]) throws -> InterventionBatch {
        let collate = InterventionExample.collator(representations: representations, subspaces: subspaces)
        return { examples in try collate(self.interventionExamples(examples, variable: variable)) }
    }

    /// Trains pyvene's MLP classifier (16 → 16 → 16 → 16 → 2 with ReLU, as in the tutorial) on
    /// base labels with Adam; returns it frozen with its test accuracy.
    public func trainClassifier(examples: Int = 50_000, epochs: Int = 10, learningRate: Float = 1e-2, seed: UInt64)
        throws -> (model: MLPClassifier, accuracy: Double) {
        let model = MLPClassifier(MLPClassifierConfiguration(width: HierarchicalEqualityTask.inputWidth, layers: 3, classes: 2, activation: .relu))
        model.initializeLikeTorch(seed: seed)
        let train = sample(examples, seed: seed &+ 1)
        let test = sample(2_000, seed: seed &+ 2)
        let x = inputs(train.map(\.base))
        try ClassifierFitting.fit(model, inputs: x, labels: train.map(\.label), epochs: epochs, learningRate: learningRate, seed: seed)
        let accuracy = try ClassifierFitting.accuracy(model, inputs: inputs(test.map(\.base)), labels: test.map(\.label))
        return (model, accuracy)
    }
}
