import ArgumentParser
import CausalAbstraction
import Foundation
import Intervene
import Models
import Tensors

/// `intervene demo`: the main job on a built-in default — distributed alignment search for the
/// left-equality variable of the hierarchical-equality MLP, end to end: train the model, train
/// the rotation, save a bundle, reload it and check its IIA.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run DAS on hierarchical equality end to end (train, save a bundle, reload, evaluate)."
    )

    @Option(help: "Random seed for data, initialisation and shuffling.")
    var seed: UInt64 = 0

    @Option(help: "Where the demo writes its model and bundle.")
    var output: String = ".cache/demo"

    func run() throws {
        do {
            let json = """
            {"name": "demo: DAS for left equality", "seed": \(seed),
             "model": {"builtin": "hierarchical_equality_mlp", "save_to": "\(output)/model"},
             "data": {"builtin": "hierarchical_equality", "variable": "left_equality", "train": 10000, "test": 10000},
             "representations": [{"layer": 0, "component": "block_output", "unit": "pos", "max_number_of_units": 1,
                                  "subspace_partition": [[0, 8], [8, 16]]}],
             "intervention_types": "RotatedSpaceIntervention", "subspaces": [0],
             "training": {"epochs": 10, "batch_size": 64, "learning_rate": 0.001},
             "output": {"bundle": "\(output)/bundle"}}
            """
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
            let file = output + "/experiment.json"
            try Data(json.utf8).write(to: URL(fileURLWithPath: file))
            print("1/3 training the MLP on hierarchical equality, then a DAS rotation of its first layer (seed \(seed))")
            let runner = ExperimentRunner(experiment: try Experiment.load(path: file), file: file)
            let metrics = try runner.run(command: "intervene demo --seed \(seed)")
            print(String(format: "    task accuracy %.4f; interchange-intervention accuracy %.4f after %.0f steps (%.1fs)",
                         metrics["task_accuracy"] ?? 0, metrics["iia"] ?? 0, metrics["steps"] ?? 0, metrics["train_seconds"] ?? 0))
            print("2/3 saved the bundle to \(output)/bundle; reloading it onto the saved model")
            let model = try ModelLoader.load(folder: output + "/model")
            let reloaded = try InterventionBundle.load(from: output + "/bundle", model: model)
            let test = try runner.data().test
            let trainer = InterventionTrainer(model: reloaded, collator: InterventionExample.collator(representations: 1, subspaces: [0]))
            let iia = try trainer.evaluate(test)["iia"] ?? 0
            print(String(format: "3/3 reloaded bundle: IIA %.4f (same test pairs)", iia))
            print(ExperimentRunner.jsonLine(["task_accuracy": metrics["task_accuracy"] ?? 0, "iia": metrics["iia"] ?? 0, "reloaded_iia": iia]))
        } catch {
            throw fail(error)
        }
    }
}
