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
        --data is builtin:hierarchical_equality[:left_equality|right_equality].
        """
    )

    @Argument(help: "The bundle directory.")
    var bundle: String

    @Option(help: "Model checkpoint folder, or \"bundle\" for the bundle's own model source.")
    var model: String = "bundle"

    @Option(help: "Evaluation data, e.g. builtin:hierarchical_equality:left_equality.")
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
            let parts = data.split(separator: ":").map(String.init)
            guard parts.count >= 2, parts[0] == "builtin", parts[1] == "hierarchical_equality" else {
                throw ExperimentError.invalid(file: "--data", field: "data", value: "\"\(data)\"", expected: "builtin:hierarchical_equality[:left_equality|right_equality]")
            }
            guard let variable = HierarchicalEqualityTask.Variable(rawValue: parts.count > 2 ? parts[2] : "left_equality") else {
                throw ExperimentError.invalid(file: "--data", field: "variable", value: "\"\(parts[2])\"", expected: "left_equality, right_equality")
            }
            let task = HierarchicalEqualityTask(seed: seed)
            let test = task.sample(count, seed: seed &+ 11)
            let partitionIds = (intervenable.config.representations.first?.subspacePartition != nil) ? [0] : nil
            let trainer = InterventionTrainer(model: intervenable, collator: task.collator(variable: variable, representations: intervenable.config.representations.count,
                                                                                        subspaces: partitionIds),
                                              metrics: [.interchangeInterventionAccuracy, .crossEntropy])
            print(jsonLine(try trainer.evaluate(test)))
        } catch {
            throw fail(error)
        }
    }
}
