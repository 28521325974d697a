import ArgumentParser
import Features
import Foundation
import Models

/// `--site`, `--corpus` and how the corpus is cut into windows, shared by `sae train` and `sae eval`.
struct SAECorpusOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "The site: LAYER:COMPONENT or a TransformerLens name (negative layers count from the end).")
    var site: String

    @Option(help: "A text file; its tokens are cut into windows of --context tokens.")
    var corpus: String

    @Option(parsing: .unconditional, help: "Tokens per window.")
    var context: Int = 128

    @Option(parsing: .unconditional, help: "Windows per forward pass.")
    var windows: Int = 8

    @Option(name: .customLong("skip-positions"), parsing: .unconditional,
            help: "Leading positions of each window left out (1 leaves out the attention-sink token).")
    var skipPositions: Int = 1

    @Option(name: .customLong("sink-ratio"), parsing: .unconditional,
            help: "Leave out attention sinks: positions whose activation norm exceeds this multiple of their window's median (0: keep them).")
    var sinkRatio: Float = 10

    /// Throws `SAEError` naming the first flag out of range.
    func check() throws {
        try checkFlag(context >= 2, "--context", context, "an integer ≥ 2")
        try checkFlag(windows >= 1, "--windows", windows, "an integer ≥ 1")
        try checkFlag(skipPositions >= 0 && skipPositions < context - 1, "--skip-positions", skipPositions,
                    "an integer in 0..<\(max(context - 1, 1)) (below --context − 1)")
        try checkFlag(sinkRatio == 0 || (sinkRatio.isFinite && sinkRatio > 1), "--sink-ratio", sinkRatio, "0 (off) or a finite number > 1")
    }

    /// The positions trained on and measured.
    var positions: PositionSelection { PositionSelection(skip: skipPositions, sinkRatio: sinkRatio == 0 ? nil : sinkRatio) }

    /// The corpus's windows for `tokenizer` (read again from the start when `repeats`).
    func windows(_ tokenizer: any Tokenizer, repeats: Bool) throws -> CorpusTokenWindows {
        try CorpusTokenWindows(path: corpus, tokenizer: tokenizer, context: context, repeats: repeats)
    }
}

/// Throws `SAEError.invalid` naming `flag` unless `ok`.
func checkFlag(_ ok: Bool, _ flag: String, _ value: Any, _ allowed: String) throws {
    guard ok else { throw SAEError.invalid(field: flag, value: "\(value)", allowed: allowed) }
}

/// Training or evaluation progress on standard error: a bar on a terminal (`TerminalProgress`),
/// otherwise a plain line at every tenth of the work.
struct SAEProgressLines {
    let bar: TerminalProgress
    private var lastTenth = -1

    init(label: String) { bar = TerminalProgress(label: label) }

    mutating func update(_ done: Int, _ total: Int, _ detail: @autoclosure () -> String) {
        if bar.live { bar.update(done, total); return }
        let tenth = total > 0 ? done * 10 / total : 10
        guard tenth != lastTenth else { return }
        lastTenth = tenth
        FileHandle.standardError.write(Data("\(bar.label) \(done)/\(total): \(detail())\n".utf8))
    }
}
