// Tutorial 01 — Getting started: wrap a model, interchange an activation, collect activations,
// read the effect. See README.md beside this file. The last line printed is a JSON object.
import CausalAbstraction
import Foundation
import Intervene
import Models
import Tensors

// 1. A model to study: a two-layer decoder that answers whether (w = x) = (y = z) for four
//    tokens [w, x, y, z]. (Any registered model works the same way: GPT-2, Llama, …)
let task = TokenEqualityTask(symbols: 20)
let (model, accuracy) = try task.trainModel(seed: 0)
print(String(format: "the decoder answers %.1f%% of held-out inputs correctly", 100 * accuracy))

// 2. Collect: read layer 0's output at every position of a few inputs, without changing them.
let inputs = [[3, 3, 7, 7], [3, 5, 7, 7]]
let collect = try IntervenableModel(
    config: IntervenableConfig(RepresentationConfig(layer: 0, component: .blockOutput, maxNumberOfUnits: 4),
                               interventionType: .collect),
    model: model)
let all = Array(repeating: Array(0..<4), count: inputs.count)
let collected = try collect.forward(base: .tokens(task.tokens(inputs)), unitLocations: .base(all)).collected(0)
print("collected layer-0 activations of shape \(collected.shape) (examples, positions, width)")
let difference = (collected.narrowed(0, start: 0, length: 1) - collected.narrowed(0, start: 1, length: 1)).abs().max(axis: -1).reshaped([4])
print("largest difference between the two inputs per position: \(difference.scalars.map { String(format: "%.2f", $0) })")

// 3. Interchange: run a base input, but at one site take the activation from a source input.
//    If the site carries w = x, the answer follows the source's w = x (the causal model's
//    counterfactual); at a site that does not, it does not.
@MainActor func interchangeAccuracy(position: Int) throws -> Double {
    let intervenable = try IntervenableModel(
        config: IntervenableConfig(RepresentationConfig(layer: 0, component: .blockOutput), interventionType: .vanilla),
        model: model)
    let trainer = InterventionTrainer(model: intervenable, collator: task.collator(position: position))
    return try trainer.evaluate(task.sample(2_000, seed: 7))["iia"]!
}
let perPosition = try (0..<4).map { try interchangeAccuracy(position: $0) }
for (p, v) in perPosition.enumerated() {
    print(String(format: "swapping layer 0's output at position %d: the answer follows the counterfactual in %.1f%% of pairs", p, 100 * v))
}

// 4. One pair, by hand: base [3, 5, 7, 7] (w ≠ x, y = z → "no"), source [4, 4, 1, 2] (w = x).
let base = ModelInput.tokens(task.tokens([[3, 5, 7, 7]])), source = ModelInput.tokens(task.tokens([[4, 4, 1, 2]]))
let swap = try IntervenableModel(config: IntervenableConfig(RepresentationConfig(layer: 0, component: .blockOutput),
                                                            interventionType: .vanilla), model: model)
let out = try swap.forward(base: base, sources: [source], unitLocations: .position(1, batchSize: 1), outputOriginal: true)
@MainActor func answer(_ logits: Tensor) -> String {
    let last = logits.narrowed(1, start: 3, length: 1).reshaped([task.vocabularySize])
    return last.argmax().values[0] == task.yesToken ? "yes" : "no"
}
print("base answer: \(answer(out.original!.logits)); after swapping position 1 from the source: \(answer(out.intervened.logits))")

print(ExperimentRunner.jsonLine(["task_accuracy": accuracy, "interchange_accuracy_position_1": perPosition[1], "interchange_accuracy_position_0": perPosition[0]]))
if perPosition[1] < 0.9 { exit(1) }
