import ArgumentParser
import Foundation
import Tensors

/// `intervene demo`: the main job on a built-in default.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Train a small network on the hierarchical-equality task and print its loss falling."
    )

    @Option(help: "Random seed for data, initialisation and shuffling.")
    var seed: UInt64 = 0

    @Option(help: "Training epochs.")
    var epochs: Int = 8

    func run() throws {
        guard epochs > 0 else { throw ValidationError("--epochs must be positive, got \(epochs)") }
        var generator = RandomGenerator(seed: seed)
        // Hierarchical equality: four 4-d objects a, b, c, d; label = (a == b) == (c == d).
        let vocabulary = Tensor.randomNormal([100, 4], using: &generator)
        func sample(_ n: Int) -> (Tensor, [Int]) {
            var rows: [Tensor] = []
            var labels: [Int] = []
            for _ in 0..<n {
                var ids = (0..<4).map { _ in generator.nextInt(below: 100) }
                if generator.nextUniform() < 0.5 { ids[1] = ids[0] }
                if generator.nextUniform() < 0.5 { ids[3] = ids[2] }
                rows.append(Tensor.embedding(vocabulary, ids: IndexTensor(ids)).reshaped([16]))
                labels.append((ids[0] == ids[1]) == (ids[2] == ids[3]) ? 1 : 0)
            }
            return (Tensor.stack(rows), labels)
        }
        let (trainX, trainY) = sample(10_000)
        let (testX, testY) = sample(2_000)
        let layers = [16, 16, 16, 2]
        var parameters: [Parameter] = []
        for i in 0..<(layers.count - 1) {
            let bound = 1 / Float(layers[i]).squareRoot()
            parameters.append(Parameter(Tensor.randomUniform([layers[i + 1], layers[i]], low: -bound, high: bound, using: &generator)))
            parameters.append(Parameter(Tensor.randomUniform([layers[i + 1]], low: -bound, high: bound, using: &generator)))
        }
        func forward(_ x: Tensor) -> Tensor {
            var h = x
            for i in 0..<(layers.count - 1) {
                h = h.linear(weight: parameters[2 * i].value, bias: parameters[2 * i + 1].value)
                if i < layers.count - 2 { h = h.relu() }
            }
            return h
        }
        let optimizer = Adam(parameters, learningRate: 1e-2)
        let batch = 64
        print("Training a 16-16-16-2 MLP on hierarchical equality (10,000 examples, Adam, seed \(seed))")
        for epoch in 1...epochs {
            var order = Array(0..<trainY.count)
            order.shuffle(using: &generator)
            var total: Float = 0
            var steps = 0
            for start in stride(from: 0, to: order.count, by: batch) {
                let idx = Array(order[start..<min(start + batch, order.count)])
                let x = trainX.indexSelect(axis: 0, indices: idx)
                let loss = Tensor.crossEntropy(logits: forward(x), targets: idx.map { trainY[$0] })
                optimizer.zeroGrad()
                loss.backward()
                optimizer.step()
                total += loss.item
                steps += 1
            }
            let accuracy = Tensor.withoutGradients {
                zip(forward(testX).argmax(axis: -1).values, testY).filter { $0 == $1 }.count
            }
            print(String(format: "epoch %2d  loss %.4f  test accuracy %.3f", epoch, total / Float(steps), Float(accuracy) / Float(testY.count)))
        }
    }
}
