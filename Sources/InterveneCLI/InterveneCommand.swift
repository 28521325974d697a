import ArgumentParser
import CausalAbstraction
import Features
import Foundation
import Intervene
import Models
import Tensors

/// The `intervene` command-line tool.
///
/// Exit codes: 0 success; 1 the work failed (for example a non-finite loss during training);
/// 2 an input was invalid (experiment file, bundle, model or data); 64 the command line itself
/// was malformed.
@main
struct InterveneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "intervene",
        abstract: "Causal interventions on neural networks: train, evaluate and share alignments.",
        discussion: "Exit codes: 0 success, 1 the work failed, 2 invalid input, 64 malformed command line.",
        subcommands: [RunCommand.self, AttributeCommand.self, TraceCommand.self, PatchCommand.self, GenerateCommand.self, SteerCommand.self, SitesCommand.self, CacheCommand.self, CodebookCommand.self, SAECommand.self, TrainCommand.self, EvaluateCommand.self, InspectCommand.self, ImportPyveneCommand.self, SweepCommand.self, SweepMergeCommand.self, ServeCommand.self, ExportHTMLCommand.self, DemoCommand.self]
    )
}

/// Prints an error to standard error and exits with the documented code.
func fail(_ error: Error) -> ExitCode {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    switch error {
    case let training as TrainingError: return ExitCode(training.isInputError ? 2 : 1)
    case is CausalAbstractionInputError: return ExitCode(2)
    default: return ExitCode(1)
    }
}

/// Errors that mean "your input is wrong" (exit code 2).
protocol CausalAbstractionInputError: Error {}

extension ExperimentError: CausalAbstractionInputError {}
extension ConfigurationError: CausalAbstractionInputError {}
extension BundleError: CausalAbstractionInputError {}
extension ModelError: CausalAbstractionInputError {}
extension InterventionError: CausalAbstractionInputError {}
extension SafeTensorsError: CausalAbstractionInputError {}
extension FileError: CausalAbstractionInputError {}
extension SiteError: CausalAbstractionInputError {}
extension GGUFError: CausalAbstractionInputError {}
extension TokenizerError: CausalAbstractionInputError {}
extension JSONError: CausalAbstractionInputError {}
extension CodebookError: CausalAbstractionInputError {}
extension SAEError: CausalAbstractionInputError {}

extension TrainingError {
    /// Options and batches that do not fit are input errors; a loss or gradient that goes
    /// non-finite while training is a failure of the work.
    var isInputError: Bool {
        switch self {
        case .invalidOption, .invalidBatch, .emptyDataset: return true
        case .nonFiniteLoss, .nonFiniteGradient, .nothingToTrain: return false
        }
    }
}
