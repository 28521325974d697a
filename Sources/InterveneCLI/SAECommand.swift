import ArgumentParser
import Features

/// `intervene sae …`: sparse autoencoders — train one on a model's activations over a corpus,
/// evaluate one.
struct SAECommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sae",
        abstract: "Sparse autoencoders: train on a model's activations over a text corpus, evaluate.",
        subcommands: [SAETrainCommand.self, SAEEvalCommand.self, SAEImportCommand.self, SAELatentsCommand.self]
    )
}

