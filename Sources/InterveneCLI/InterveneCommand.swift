import ArgumentParser

/// The `intervene` command-line tool.
@main
struct InterveneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "intervene",
        abstract: "Causal interventions on neural networks: train, evaluate and share alignments.",
        subcommands: [DemoCommand.self]
    )
}
