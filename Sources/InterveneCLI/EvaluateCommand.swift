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
        --model is a checkpoint folder (config.json + safetensors), a .gguf file, a Hugging Face repo id in the local
        cache, or "bundle" to use the model the bundle names. Text in the data is tokenized with the model's tokenizer.
        --data is builtin:hierarchical_equality[:left_equality|right_equality], or a .jsonl file with one
        {"base", "source", "positions", "source_positions"?, "label"} object per line.
        """
    )

    @Argument(help: "The bundle directory.")
    var bundle: String

    @Option(help: "Model (checkpoint folder, .gguf file or repo id), or \"bundle\" for the bundle's own model source.")
    var model: String = "bundle"

    @Option(help: "Evaluation data: builtin:hierarchical_equality:left_equality, or a .jsonl file of examples.")
    var data: String

    @Option(help: "Seed of the built-in data.")
    var seed: UInt64 = 0

    @Option(help: "Number of evaluation pairs for built-in data.")
    var count: Int = 10_000

    @Option(help: "Partition ids to intervene on, one per representation (comma-separated); default: those the bundle was trained on.")
    var subspaces: String?

    /// --subspaces, else the ids recorded in the bundle, else none (the whole space).
    func subspaceIds(manifest: InterventionBundle.Manifest) throws -> [Int]? {
        guard let subspaces else { return manifest.trainedSubspaces }
        let ids = subspaces.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !ids.isEmpty, ids.allSatisfy({ ($0 ?? -1) >= 0 }) else {
            throw ExperimentError.invalid(file: "--subspaces", field: "subspaces", value: "\"\(subspaces)\"", expected: "comma-separated non-negative partition ids, e.g. 0 or 0,1")
        }
        return ids.compactMap { $0 }
    }

    func validate() throws {
        guard count > 0 else { throw ValidationError("--count must be positive, got \(count)") }
    }

    func run() throws {
        do {
            let manifest = try InterventionBundle.manifest(at: bundle)
            let folder = model == "bundle" ? manifest.modelSource : model
            let loaded = try ModelLoader.load(named: folder)
            let loadedModel = loaded.model
            let intervenable = try InterventionBundle.load(from: bundle, model: loadedModel)
            let collate = InterventionExample.collator(representations: intervenable.config.representations.count,
                                                       subspaces: try subspaceIds(manifest: manifest))
            let examples: [InterventionExample]
            if !data.hasPrefix("builtin:") {
                examples = try InterventionExample.load(jsonl: data, classes: InterventionExample.labelClasses(of: loadedModel),
                                                        tokenizer: loaded.tokenizer)
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
                examples = task.interventionExamples(task.sample(count, split: .test, seed: seed), variable: variable)
            }
            // Examples of one shape (lengths, position counts) stack; text of mixed lengths is
            // evaluated in shape groups and the metrics weighted by group size.
            let groups = InterventionExample.batches(examples, size: 64)
            let trainer = InterventionTrainer<[InterventionExample]>(model: intervenable,
                                                                     collator: { (units: [[InterventionExample]]) in try collate(units.flatMap { $0 }) },
                                              metrics: [.interchangeInterventionAccuracy, .crossEntropy],
                                              options: { var o = TrainingOptions(); o.batchSize = 1; return o }())
            let result = try trainer.evaluate(groups)
            print(ExperimentRunner.jsonLine(result))
        } catch {
            throw fail(error)
        }
    }
}
