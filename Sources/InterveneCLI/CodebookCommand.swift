import ArgumentParser
import Features
import Foundation

/// `intervene codebook …`: codebook features — train codebooks on a corpus, collect codes into a
/// cache folder, search them by regular expression, inspect one code.
struct CodebookCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "codebook",
        abstract: "Codebook features: train codebooks on a corpus, collect codes over prompts, search codes by regex, inspect a code.",
        subcommands: [CodebookTrainCommand.self, CodebookCacheCommand.self, CodebookSearchCommand.self, CodebookCodesCommand.self]
    )
}

extension CodeAnalysisError: CausalAbstractionInputError {}

/// `--cache DIR`, shared by the commands that read a codebook cache folder.
struct CodebookCacheOptions: ParsableArguments {
    @Option(help: "A codebook cache folder written by `intervene codebook cache`.")
    var cache: String

    /// The cache folder's manifest and codes.
    func read() throws -> (manifest: CodebookCacheManifest, codes: CollectedCodes) {
        try CodebookCache.read(from: cache)
    }
}

/// Progress of a long loop on standard error: one line redrawn on a terminal, nothing otherwise.
struct TerminalProgress {
    let label: String
    let live = isatty(STDERR_FILENO) == 1

    func update(_ done: Int, _ total: Int) {
        guard live else { return }
        let width = 24, filled = total > 0 ? done * width / total : width
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        FileHandle.standardError.write(Data("\r\(label) [\(bar)] \(done)/\(total)".utf8))
        if done >= total { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

/// Throws `invalidOption` naming `flag` unless `value` is at least `minimum`.
func requireAtLeast(_ minimum: Int, _ value: Int, flag: String) throws {
    guard value >= minimum else { throw CodeAnalysisError.invalidOption(field: flag, value: "\(value)", allowed: "an integer ≥ \(minimum)") }
}

/// Throws `invalidOption` naming `flag` unless `value` is in 0 ... 1.
func requireFraction(_ value: Double, flag: String) throws {
    guard value >= 0 && value <= 1 else { throw CodeAnalysisError.invalidOption(field: flag, value: "\(value)", allowed: "a number in 0...1") }
}

/// Formats a fraction as "0.750".
func fraction(_ x: Double) -> String { String(format: "%.3f", x) }
