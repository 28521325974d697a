// Tutorial 04 — Boundless DAS on a small decoder.
//
// A two-layer GPT-2-style decoder learns hierarchical equality over tokens [w, x, y, z]
// (answer "yes" when (w = x) = (y = z)). Boundless DAS then searches each position of the first
// layer's output for the variable WX = (w = x), learning how many rotated dimensions to swap.
// See README.md beside this file. The last line printed is a JSON object with the headline
// figures; the program exits non-zero if the alignment is not found.
import CausalAbstraction
import Foundation
import Intervene
import Models
import Tensors

let seed: UInt64 = 0
let task = TokenEqualityTask(symbols: 20)

// 1. A decoder trained on the task.
let (model, accuracy) = try task.trainModel(seed: seed)
print(String(format: "decoder accuracy on the task: %.4f", accuracy))

// 2. Boundless DAS at one site: a rotation plus a learned boundary on how much of the rotated
//    space to swap, with a temperature annealed from 50 to 0.1 (as in pyvene's tutorial).
@MainActor func boundlessDAS(layer: Int, position: Int) throws -> (iia: Double, boundary: Float, losses: [(Double, Double)]) {
    let config = IntervenableConfig(RepresentationConfig(layer: layer, component: .blockOutput),
                                    interventionType: .boundlessRotatedSpace)
    let intervenable = try IntervenableModel(config: config, model: model, seed: seed)
    var options = TrainingOptions()
    options.epochs = 3
    options.batchSize = 64
    options.learningRate = 3e-3
    options.parameterLearningRates = ["intervention_boundaries": 1e-2]
    options.temperature = (50, 0.1)
    options.seed = seed
    options.progress = .silent
    let trainer = InterventionTrainer(model: intervenable, collator: task.collator(position: position), options: options)
    let history = try trainer.train(task.sample(20_000, seed: seed &+ 20))
    let iia = try trainer.evaluate(task.sample(2_000, seed: seed &+ 21))["iia"]!
    let boundless = intervenable.interventions[0] as! BoundlessRotatedSpaceIntervention
    return (iia, boundless.boundaries.value.scalars[0], history.losses.map { (Double($0.step), Double($0.loss)) })
}

// 3. Every position of layer 0's output. Position 1 is where w and x first meet; position 0
//    sees w alone, so it serves as a control site.
var row: [Double] = []
var curves: [(name: String, points: [(Double, Double)])] = []
for position in 0..<4 {
    let result = try boundlessDAS(layer: 0, position: position)
    row.append(result.iia)
    curves.append(("position \(position)", result.losses))
    print(String(format: "layer 0, position %d: IIA %.4f (boundary %.3f of the rotated space)", position, result.iia, result.boundary))
}
let figures = ".cache/tutorials/04"
try SVGPlot.write(SVGPlot.heatmap([row], rowLabels: ["layer 0"], columnLabels: ["w", "x", "y", "z"],
                                  title: "Boundless DAS: IIA for WX = (w = x) by position"), to: figures + "/iia-heatmap.svg")
try SVGPlot.write(SVGPlot.lineChart(curves, title: "Boundless DAS training loss", xLabel: "step", yLabel: "loss"), to: figures + "/training-loss.svg")
print("figures: \(figures)/iia-heatmap.svg, \(figures)/training-loss.svg")

let aligned = row[1], control = row[0]
print(ExperimentRunner.jsonLine(["task_accuracy": accuracy, "iia_position_1": aligned, "iia_control_position_0": control]))
if aligned < 0.9 || control > aligned - 0.2 { exit(1) }
