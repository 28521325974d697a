// Tutorial 03 — Distributed alignment search (DAS) on hierarchical equality.
//
// Train a small MLP to decide whether (a = b) = (c = d), then search its first hidden layer for
// a rotated subspace that encodes the intermediate variable "a = b". See README.md beside this
// file for the story; the last line printed is a JSON object with the headline figures, and the
// program exits non-zero if the alignment is not found.
import CausalAbstraction
import Foundation
import Intervene
import Models
import Tensors

let seed: UInt64 = 0
let task = HierarchicalEqualityTask(seed: seed)

// 1. The model: pyvene's MLP classifier (16 → 16 → 16 → 16 → 2), trained on the task itself.
let (model, taskAccuracy) = try task.trainClassifier(seed: seed)
print(String(format: "task accuracy of the trained MLP: %.4f", taskAccuracy))

// 2. The alignment: a rotation R of layer 0's output; subspace 0 of the partition [[0, 8], [8, 16]]
//    (the first 8 rotated dimensions) is swapped from the source: out = ((1−m)⊙bR + m⊙sR)Rᵀ.
let representation = RepresentationConfig(layer: 0, component: .blockOutput, unit: .position, maxNumberOfUnits: 1,
                                          subspacePartition: [[0, 8], [8, 16]], interventionType: .rotatedSpace)
let intervenable = try IntervenableModel(config: IntervenableConfig(representation), model: model, seed: seed)

// 3. Training data: (base, source) pairs labelled with the high-level model's counterfactual,
//    the output after setting WX := source.WX. The loss is cross-entropy against that label.
let train = task.sample(10_000, split: .train, seed: seed)
let test = task.sample(10_000, split: .test, seed: seed)
var options = TrainingOptions()
options.epochs = 10
options.batchSize = 64
options.learningRate = 1e-3
options.seed = seed
let trainer = InterventionTrainer(model: intervenable, collator: task.collator(variable: .leftEquality, subspaces: [0]), options: options)
let before = try trainer.evaluate(test)["iia"]!
let history = try trainer.train(train)
let iia = try trainer.evaluate(test)["iia"]!
print(String(format: "interchange-intervention accuracy (IIA) before training %.4f, after %.4f", before, iia))

// 4. The same rotation does not align the other variable: swapping subspace 0 while labelling
//    with the counterfactual for YZ = (c = d) scores near chance.
let control = InterventionTrainer(model: intervenable, collator: task.collator(variable: .rightEquality, subspaces: [0]))
let controlIIA = try control.evaluate(test)["iia"]!
print(String(format: "the learned subspace as an alignment of c = d instead: IIA %.4f", controlIIA))

// 5. Save the alignment as a bundle, load it back, and check it still scores the same.
let folder = ".cache/tutorials/03"
try CheckpointWriter.save(model, config: model.configuration, to: folder + "/model", card: "MLP of tutorial 03")
try InterventionBundle.save(intervenable, to: folder + "/bundle", modelSource: folder + "/model", metrics: ["iia": iia],
                            provenance: .init(command: "swift run -c release 03-DistributedAlignmentSearch", seed: seed, data: "hierarchical equality"))
let reloaded = try InterventionBundle.load(from: folder + "/bundle", model: try ModelLoader.load(folder: folder + "/model"))
let reloadedIIA = try InterventionTrainer(model: reloaded, collator: task.collator(variable: .leftEquality, subspaces: [0])).evaluate(test)["iia"]!
print(String(format: "reloaded bundle: IIA %.4f", reloadedIIA))
try SVGPlot.write(SVGPlot.lineChart([("loss", history.losses.map { (Double($0.step), Double($0.loss)) })],
                                    title: "DAS training loss", xLabel: "step", yLabel: "cross-entropy"), to: folder + "/training-loss.svg")

print(ExperimentRunner.jsonLine(["task_accuracy": taskAccuracy, "iia_before": before, "iia": iia, "control_iia": controlIIA, "reloaded_iia": reloadedIIA]))
if taskAccuracy < 0.99 || iia < 0.95 || abs(reloadedIIA - iia) > 1e-9 { exit(1) }
