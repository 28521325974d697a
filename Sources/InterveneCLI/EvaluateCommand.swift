import ArgumentParser
import CausalAbstraction
import Foundation
import Intervene
import Models
import Tensors

/// `intervene evaluate BUNDLE --model … --data …`.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Report the interchange-intervention accuracy (and loss) of a bundle on a dataset.",
        discussion: """
        --model is a checkpoint folder (config.json + safetensors) or "bundle" to use the model the bundle names.
        --data is builtin:hierarchical_equality[:left_equality|right_equality], or a .jsonl file with one
        {"base", "source", "positions", "source_positions"?, "label"} object per line.
        """
    )

    @Argument(help: "The bundle directory.")
    var bundle: String

    @Option(help: "Model checkpoint folder, or \"bundle\" for the bundle's own model source.")
    var model: String = "bundle"

    @Option(help: "Evaluation data: builtin:hierarchical_equality:left_equality, or a .jsonl file of examples.")
    var data: String

    @Option(help: "Seed of the built-in data.")
    var seed: UInt64 = 0

    @Option(help: "Number of evaluation pairs for built-in data.")
    var count: Int = 10_000

    func validate() throws {
        guard count > 0 else { throw ValidationError("--count must be positive, got \(count)") }
    }

    func run() throws {
        do {
            let manifest = try InterventionBundle.manifest(at: bundle)
            let folder = model == "bundle" ? manifest.modelSource : model
            let loadedModel = try ModelLoader.load(folder: folder)
            let intervenable = try InterventionBundle.load(from: bundle, model: loadedModel)
            let partitionIds = (intervenable.config.representations.first?.subspacePartition != nil) ? [0] : nil
            let representations = intervenable.config.representations.count
            let metrics: [Metric] = [.interchangeInterventionAccuracy, .crossEntropy]
            let result: [String: Double]
            if !data.hasPrefix("builtin:") {
                let examples = try InterventionExample.load(jsonl: data)
                let collate = InterventionExample.collator(representations: representations, subspaces: partitionIds)
                result = try InterventionTrainer(model: intervenable, collator: collate, metrics: metrics).evaluate(examples)
            } else {
                let parts = data.split(separator: ":").map(String.init)
                guard parts.count >= 2, parts[1] == "hierarchical_equality" else {
                    throw ExperimentError.invalid(file: "--data", field: "data", value: "\"\(data)\"",
                                                  expected: "builtin:hierarchical_equality[:left_equality|right_equality] or a .jsonl file")
                }
                guard let variable = HierarchicalEqualityTask.Variable(rawValue: parts.count > 2 ? parts[2] : "left_equality") else {
                    throw ExperimentError.invalid(file: "--data", field: "variable", value: "\"\(parts[2])\"", expected: "left_equality, right_equality")
                }
                let task = HierarchicalEqualityTask(seed: seed)
                let test = task.interventionExamples(task.sample(count, seed: seed &+ 11), variable: variable)
                let collate = InterventionExample.collator(representations: representations, subspaces: partitionIds)
                result = try InterventionTrainer(model: intervenable, collator: collate, metrics: metrics).evaluate(test)
            }
            print(jsonLine(result))
        } catch {
            throw fail(error)
        }
    }
}
