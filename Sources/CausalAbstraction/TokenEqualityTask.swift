import Intervene
import Models
import Tensors

/// Hierarchical equality for a decoder: four tokens [w, x, y, z] out of `symbols`; the answer
/// token at the last position is "yes" when (w = x) = (y = z). With causal attention the left
/// equality WX = (w = x) can first be computed at position 1, which sees w and x only, while
/// position 0 sees w alone — a natural control site.
public struct TokenEqualityTask: Sendable {
    public struct Example: Sendable, Equatable {
        public var base: [Int]
        public var source: [Int]
        static func left(_ t: [Int]) -> Bool { t[0] == t[1] }
        static func right(_ t: [Int]) -> Bool { t[2] == t[3] }
        /// The answer after setting WX to the source's value.
        public var counterfactualYes: Bool { Example.left(source) == Example.right(base) }
    }

    public let symbols: Int
    public var yesToken: Int { symbols }
    public var noToken: Int { symbols + 1 }
    public var vocabularySize: Int { symbols + 2 }

    public init(symbols: Int = 20) { self.symbols = symbols }

    public func answer(_ t: [Int]) -> Int { Example.left(t) == Example.right(t) ? yesToken : noToken }

    /// Four tokens; each equality forced with probability ½.
    public func sampleInput(using g: inout RandomGenerator) -> [Int] {
        var t = (0..<4).map { _ in g.nextInt(below: symbols) }
        if g.nextUniform() < 0.5 { t[1] = t[0] }
        if g.nextUniform() < 0.5 { t[3] = t[2] }
        return t
    }

    public func sample(_ count: Int, seed: UInt64) -> [Example] {
        var g = RandomGenerator(seed: seed)
        return (0..<count).map { _ in Example(base: sampleInput(using: &g), source: sampleInput(using: &g)) }
    }

    public func tokens(_ rows: [[Int]]) -> IndexTensor { IndexTensor(shape: [rows.count, 4], values: Array(rows.joined())) }

    /// A small GPT-2 (width 64, 2 layers, 4 heads) trained on the task.
    public func trainModel(examples: Int = 20_000, epochs: Int = 10, seed: UInt64) throws -> (model: DecoderModel, accuracy: Double) {
        let model = try GPT2Family.model(GPT2Family.config(vocabularySize: vocabularySize, positions: 4, width: 64, layers: 2, heads: 4))
        model.initializeRandomly(seed: seed, std: 0.05)
        let train = sample(examples, seed: seed &+ 1).map(\.base)
        try ClassifierFitting.fit(model, count: train.count, input: { .tokens(self.tokens($0.map { train[$0] })) }, labels: train.map(answer),
                              epochs: epochs, learningRate: 3e-3, batchSize: 64, position: -1, seed: seed)
        let test = sample(2_000, seed: seed &+ 2).map(\.base)
        return (model, try ClassifierFitting.accuracy(model, input: .tokens(tokens(test)), labels: test.map(answer), position: -1))
    }

    /// A collator for an intervention on WX at token `position`.
    public func collator(position: Int) -> ([Example]) -> InterventionBatch {
        { examples in
            let at = Array(repeating: [position], count: examples.count)
            return InterventionBatch(base: .tokens(self.tokens(examples.map(\.base))), sources: [.tokens(self.tokens(examples.map(\.source)))],
                                     unitLocations: .positions(source: at, base: at),
                                     labels: examples.map { $0.counterfactualYes ? self.yesToken : self.noToken }, labelPosition: -1)
        }
    }
}
