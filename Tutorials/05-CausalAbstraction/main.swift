// Tutorial 05 — Causal abstraction: from a causal model to an alignment sweep.
//
// The high-level model of hierarchical equality (W, X, Y, Z → WX = (W = X), YZ = (Y = Z) →
// O = (WX = YZ)) makes counterfactual data; a sweep trains one DAS intervention per cell
// (layer × subspace size × variable, plus whole-layer interchanges as the contrast) on the MLP
// that solves the task, and draws the IIA heatmap. See README.md beside this file. Quick mode by
// default (for `make test`); `--full` runs the sweep of the README. The last line printed is a
// JSON object of headline figures; the exit status is 1 when the pass bar fails.
import CausalAbstraction
import Foundation
import Intervene
import Models
import Tensors

let full = CommandLine.arguments.contains("--full")
let seed: UInt64 = 0
let folder = ".cache/tutorials/05"
let (examples, epochs, dimensions) = full ? (10_000, 10, [1, 2, 4, 8]) : (6_000, 10, [1, 8])
let start = Date()

// 1. The causal model, and its graph as Graphviz DOT.
let causal = try HierarchicalEqualityTask.causalModel()
try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
try causal.dot().write(toFile: folder + "/causal-model.dot", atomically: true, encoding: .utf8)
print("causal model: \(causal.variables.map(\.name).joined(separator: ", ")); output \(try causal.soleOutput())")

// 2. Counterfactual data: a base and a source input drawn by the task's sampler (each equality
//    holds half the time); the label is O after setting WX (or YZ) to its value on the source.
//    The template renders each input as the MLP's input vector (the four objects' embeddings).
let task = HierarchicalEqualityTask(seed: seed)
let table = task.embeddings.scalars, width = HierarchicalEqualityTask.embeddingDimension
let template = CounterfactualTemplate.vectors(classes: [.bool(false), .bool(true)]) { setting in
    guard let ids = HierarchicalEqualityTask.objectIDs(setting) else { throw CausalModelError.malformedJSON(reason: "not four object ids") }
    return [ids.flatMap { table[($0 * width)..<(($0 + 1) * width)] }]
}
var variants: [String] = []
var rendered: [String: [InterventionExample]] = [:]
for (variable, split) in [("WX", "train"), ("WX", "test"), ("YZ", "train"), ("YZ", "test")] {
    let data = try CounterfactualDataset.sample(causal, count: examples, variables: [[variable]], seed: seed &+ (split == "train" ? 10 : 11),
                                                draw: HierarchicalEqualityTask.causalInputSampler())
    let path = "\(folder)/\(variable.lowercased())-\(split).jsonl"
    rendered[variable + split] = try template.render(data)
    try rendered[variable + split]!.map { $0.jsonLine + "\n" }.joined().write(toFile: path, atomically: true, encoding: .utf8)
    if split == "train" {
        let changed = data.filter { $0.baseLabel != $0.counterfactualLabel }.count
        print("\(variable): \(data.count) training pairs, the interchange changes the label of \(changed)")
        variants.append(#"{"name": "\#(variable)", "train": "\#(folder)/\#(variable.lowercased())-train.jsonl", "test": "\#(folder)/\#(variable.lowercased())-test.jsonl"}"#)
    }
}

// 3. The sweep: DAS with k learned directions (LowRankRotatedSpaceIntervention) at each layer's
//    output for k in `dimensions`, and VanillaIntervention swapping the whole layer — a site that
//    carries both variables, so it cannot set one and keep the other.
let experimentPath = folder + "/sweep.json"
try """
{"name": "Hierarchical equality: IIA by layer and subspace size", "seed": \(seed),
 "model": {"builtin": "hierarchical_equality_mlp"},
 "data": {"train": "\(folder)/wx-train.jsonl", "test": "\(folder)/wx-test.jsonl"},
 "representations": [{"layer": 0, "component": "block_output", "unit": "pos", "max_number_of_units": 1}],
 "training": {"epochs": \(epochs), "batch_size": 64, "learning_rate": 0.001, "optimizer": "adam"},
 "output": {"bundle": "\(folder)/unused"},
 "sweep": {"variables": [\(variants.joined(separator: ", "))],
           "intervention_types": ["LowRankRotatedSpaceIntervention", "VanillaIntervention"],
           "layers": [0, 1, 2], "low_rank_dimensions": \(dimensions), "rows": "layer", "columns": "low_rank_dimension"}}
""".write(toFile: experimentPath, atomically: true, encoding: .utf8)
let plan = try SweepPlan.load(path: experimentPath)
let out = folder + "/sweep"
try? FileManager.default.removeItem(atPath: out)
var runner = SweepRunner(plan: plan, folder: out)
runner.onCell = { event in
    print("cell \(event.cell.index + 1)/\(event.total) \(event.cell.summary): " + String(format: "IIA %.4f (%.1fs)", event.result.metrics["iia"] ?? .nan, event.result.seconds))
}
try runner.run()
let results = try SweepResults.merge([out])
try results.write(to: out)
print("wrote \(out)/results.json, results.csv and heatmap.svg (\(results.results.count) cells)")

// 4. Reading the heatmap: the best DAS cell for WX at layer 0 (where pyvene's tutorial finds it),
//    the same search at the last hidden layer and the whole-layer interchange (wrong sites).
func cells(_ variable: String, _ type: String, layer: Int) -> [SweepCellResult] {
    results.results.filter { $0.cell.variable == variable && $0.cell.interventionType == type && $0.cell.layer == layer }
}
func iia(_ r: SweepCellResult?) -> Double { r?.metrics["iia"] ?? .nan }
func best(_ list: [SweepCellResult]) -> SweepCellResult? { list.max { iia($0) < iia($1) } }
let das = "LowRankRotatedSpaceIntervention", vanilla = "VanillaIntervention"
let wx = best(cells("WX", das, layer: 0)), yz = best(cells("YZ", das, layer: 0))
let lastLayer = best(cells("WX", das, layer: 2)), wholeLayer = best(cells("WX", vanilla, layer: 0))
print(String(format: "correct alignment — WX at layer 0, k = %d: IIA %.4f (YZ at layer 0: %.4f)", wx?.cell.lowRankDimension ?? 0, iia(wx), iia(yz)))
print(String(format: "wrong site — WX at layer 2, best k: IIA %.4f; the whole layer-0 output swapped: IIA %.4f", iia(lastLayer), iia(wholeLayer)))

// 5. The wrong variable: the WX cell's trained intervention (its bundle in the sweep folder),
//    scored against YZ's counterfactual labels. The model is the sweep's built-in one, rebuilt
//    from the same seed.
let (mlp, taskAccuracy) = try task.trainClassifier(seed: seed)
let bundle = try InterventionBundle.load(from: SweepFolder(out).bundlePath(wx!.cell), model: mlp)
let asYZ = try InterventionTrainer(model: bundle, collator: InterventionExample.collator(representations: 1, subspaces: nil))
    .evaluate(rendered["YZtest"]!)["iia"]!
let asWX = try InterventionTrainer(model: bundle, collator: InterventionExample.collator(representations: 1, subspaces: nil))
    .evaluate(rendered["WXtest"]!)["iia"]!
print(String(format: "wrong variable — the WX subspace scored as YZ: IIA %.4f (as WX, reloaded: %.4f)", asYZ, asWX))
let seconds = Date().timeIntervalSince(start)
print(ExperimentRunner.jsonLine(["cells": Double(results.results.count), "task_accuracy": taskAccuracy, "wx_layer0_iia": iia(wx), "yz_layer0_iia": iia(yz),
                                 "wrong_site_layer2_iia": iia(lastLayer), "wrong_site_whole_layer_iia": iia(wholeLayer),
                                 "wrong_variable_iia": asYZ, "full": full ? 1 : 0, "seconds": seconds]))
if !(iia(wx) >= 0.95 && iia(lastLayer) <= 0.7 && iia(wholeLayer) <= 0.7 && asYZ <= 0.7 && abs(asWX - iia(wx)) < 1e-9) { exit(1) }
