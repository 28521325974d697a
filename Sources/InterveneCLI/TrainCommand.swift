import ArgumentParser
import CausalAbstraction
import Foundation
import Intervene
import Models
import Tensors


/// `intervene train EXPERIMENT.json`.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train the alignment an experiment file describes; write a bundle and a metrics JSON.",
        discussion: "Paths in the experiment file are relative to the current directory. Prints the metrics as JSON on success."
    )

    @Argument(help: "The experiment file (JSON).")
    var experiment: String

    @Flag(name: .long, help: "Print no progress.")
    var quiet = false

    func run() throws {
        do {
            let loaded = try Experiment.load(path: experiment)
            var runner = ExperimentRunner(experiment: loaded, file: experiment)
            runner.progress = quiet ? .silent : .automatic
            let metrics = try runner.run(command: "intervene train \(experiment)")
            print(ExperimentRunner.jsonLine(metrics))
            FileHandle.standardError.write(Data("wrote \(loaded.output.bundle)\n".utf8))
        } catch {
            throw fail(error)
        }
    }
}

