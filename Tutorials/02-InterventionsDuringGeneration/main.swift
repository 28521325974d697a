// Tutorial 02 — Interventions during generation: steer a small language model with an
// addition intervention and compare its outputs. See README.md beside this file. The last line
// printed is a JSON object with the headline figures.
import CausalAbstraction
import Foundation
import Intervene
import Models
import Tensors

// 1. A tiny language whose "topic" is parity: after a start token (10), a sequence uses only
//    even digits or only odd digits, in random order. A small decoder learns to keep the topic.
let start = 10, length = 12
var g = RandomGenerator(seed: 0)
@MainActor func sequence(odd: Bool) -> [Int] { [start] + (0..<(length - 1)).map { _ in 2 * g.nextInt(below: 5) + (odd ? 1 : 0) } }
let corpus = (0..<4_000).map { _ in sequence(odd: g.nextUniform() < 0.5) }
let model = try GPT2Family.model(GPT2Family.config(vocabularySize: 11, positions: 32, width: 48, layers: 2, heads: 4))
model.initializeRandomly(seed: 1, std: 0.05)
try LanguageModelFitting.fit(model, sequences: corpus, epochs: 3, learningRate: 3e-3, seed: 2)

func show(_ tokens: [Int]) -> String { tokens.dropFirst().map(String.init).joined(separator: " ") }
func oddShare(_ tokens: [Int], from: Int) -> Double {
    let generated = tokens.dropFirst(from)
    return Double(generated.filter { $0 % 2 == 1 }.count) / Double(Swift.max(generated.count, 1))
}
let prompt = IndexTensor(shape: [1, 4], values: [start, 2, 8, 4])
let plain = try Generator.generate(model, prompt: prompt, config: GenerationConfig(maxNewTokens: 8)).sequences[0]
print("plain:    \(show(plain))")

// 2. A steering vector: the mean of layer 0's output over odd sequences minus over even ones.
let collect = try IntervenableModel(
    config: IntervenableConfig(RepresentationConfig(layer: 0, component: .blockOutput, maxNumberOfUnits: length),
                               interventionType: .collect), model: model)
@MainActor func meanActivation(odd: Bool) throws -> Tensor {
    let rows = (0..<64).map { _ in sequence(odd: odd) }
    let ids = IndexTensor(shape: [rows.count, length], values: Array(rows.joined()))
    let everywhere = Array(repeating: Array(0..<length), count: rows.count)
    return try collect.forward(base: .tokens(ids), unitLocations: .base(everywhere)).collected(0).mean(axes: [0, 1])
}
let steering = try meanActivation(odd: true) - meanActivation(odd: false)

// 3. An addition intervention with that constant source, on the prompt's last position and on
//    every generated token (writing at the new token's position).
let steer = try IntervenableModel(
    config: IntervenableConfig(RepresentationConfig(layer: 0, component: .blockOutput, sourceRepresentation: (steering * 2).scalars),
                               interventionType: .addition), model: model)
let steered = try steer.generate(prompt: prompt, unitLocations: .base([[3]]), timing: .promptAndGeneratedTokens { _ in true },
                                 config: GenerationConfig(maxNewTokens: 8), outputOriginal: true)
print("steered:  \(show(steered.intervened.sequences[0]))")

// 4. Only from the fifth generated token on (a timestep selector picks the steps).
let late = try steer.generate(prompt: prompt, unitLocations: .base([[3]]), timing: .generatedTokens { $0 >= 5 },
                              config: GenerationConfig(maxNewTokens: 8)).intervened.sequences[0]
print("from 5th: \(show(late))")

let plainOdd = oddShare(plain, from: 4), steeredOdd = oddShare(steered.intervened.sequences[0], from: 4)
print(String(format: "odd digits among generated tokens: plain %.2f, steered %.2f, steered from the 5th token %.2f",
             plainOdd, steeredOdd, oddShare(late, from: 4)))
print(ExperimentRunner.jsonLine(["odd_share_plain": plainOdd, "odd_share_steered": steeredOdd, "odd_share_steered_from_5th": oddShare(late, from: 4)]))
if steeredOdd < plainOdd + 0.5 { exit(1) }
