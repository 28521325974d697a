import ArgumentParser
import Features
import Foundation
import Intervene
import Models
import Tensors

/// `intervene codebook train --model M --corpus FILE --out BUNDLE`: inserts codebooks at a
/// placement of a decoder, trains them on windows of a tokenized text corpus, and saves them
/// as a codebook bundle that `intervene codebook cache` reads.
struct CodebookTrainCommand: ExecutingCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train codebooks at a placement of a model on a text corpus and save them as a codebook bundle.",
        discussion: """
        The corpus (plain UTF-8 text) is tokenized with the model's tokenizer and cut into non-overlapping windows of \
        --context tokens. Each step trains on --batch windows: next-token cross-entropy plus the codebooks' losses \
        (--objective), with Adam. Only the codebooks train unless --train-model is given. --at takes the reference's \
        codebook_at names: \(CodebookPlacement.allCases.map(\.rawValue).joined(separator: ", ")).
        """
    )

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var output: OutputOptions

    @Option(help: "A plain-text corpus file.")
    var corpus: String

    @Option(parsing: .unconditional, help: "Tokens per training window.")
    var context: Int = 64

    @Option(help: "Where the codebooks sit in each layer (codebook_at).")
    var at: String = "mlp"

    @Option(parsing: .unconditional, help: "Comma-separated layers (negative counts from the end), or 'all'.")
    var layers: String = "all"

    @Option(parsing: .unconditional, help: "Codes per codebook.")
    var codes: Int = 1024

    @Option(parsing: .unconditional, help: "Codes averaged per token (k).")
    var k: Int = 1

    @Option(parsing: .unconditional, help: "Group codebooks per site (1: one codebook; -1: one per attention head).")
    var groups: Int = 1

    @Option(help: "inner_product or euclidean.")
    var similarity: String = "inner_product"

    @Option(help: "base, aeloss, fullaeloss[-β] or vqvae[-β].")
    var objective: String = "aeloss"

    @Option(parsing: .unconditional, help: "Adam steps.")
    var steps: Int = 100

    @Option(parsing: .unconditional, help: "Windows per step.")
    var batch: Int = 8

    @Option(parsing: .unconditional, help: "Adam's learning rate.")
    var lr: Float = 1e-3

    @Flag(help: "Train the model's weights too (default: only the codebooks).")
    var trainModel = false

    @Flag(help: "Initialise the codes by k-means of the model's activations before training.")
    var kmeansInit = false

    @Option(parsing: .unconditional, help: "Lloyd iterations of --kmeans-init.")
    var kmeansIterations: Int = 25

    @Option(parsing: .unconditional, help: "Token rows --kmeans-init clusters per codebook (at least --codes).")
    var kmeansRows: Int = 16_384

    @Option(parsing: .unconditional, help: "Replace codes unused for N steps, every N steps (0: never).")
    var replaceDeadEvery: Int = 0

    @Option(parsing: .unconditional, help: "Relative noise added to a replaced code.")
    var replaceNoise: Float = 0.01

    @Option(parsing: .unconditional, help: "Seed of the codes, the batch order and the replacements.")
    var seed: UInt64 = 0

    @Option(help: "The codebook bundle folder to write (replaced if it exists).")
    var out: String

    @Option(help: "With --train-model: the safetensors file for the trained model weights (checkpoint names); the bundle fits only these weights.")
    var modelOut: String?

    @Option(help: "Also write the run's metrics to this JSON file.")
    var metricsJson: String?

    /// Trains and saves; returns the trained codebooks and the report. Throws typed errors for
    /// every bad argument.
    @discardableResult
    func execute() throws -> (codebooks: CodebookModel, report: CodebookCorpusReport) {
        let spec = try codebookSpec()
        let options = try trainingOptions()
        let text = try corpusText()
        let loaded = try modelOptions.load(quiet: output.json)
        guard let decoder = loaded.model as? DecoderModel else {
            throw ModelError.invalidInput("--model \(modelOptions.model) is a \(loaded.model.modelType) model; codebooks need a decoder model")
        }
        guard context <= decoder.config.contextLength else {
            throw CodeAnalysisError.invalidOption(field: "--context", value: "\(context)",
                                                  allowed: "2...\(decoder.config.contextLength) (the model's context length)")
        }
        let tokens = try loaded.requireTokenizer().encode(text, addSpecialTokens: false).ids
        let windows = try CodebookCorpusTraining.windows(tokens, length: context)
        guard !windows.isEmpty else {
            throw CodeAnalysisError.invalidOption(field: "--corpus", value: "'\(corpus)' (\(tokens.count) tokens)",
                                                  allowed: "a text of at least --context = \(context) tokens (or a smaller --context)")
        }
        let codebooks = try CodebookModel(model: decoder, specs: [spec], seed: seed)
        if kmeansInit {
            let bar = TerminalProgress(label: "k-means activations")
            try codebooks.initializeWithKMeans(sequences: windows, batchSize: Swift.max(batch, 8), iterations: kmeansIterations,
                                               maxRows: kmeansRows, seed: seed,
                                               progress: output.json ? nil : { bar.update($0, $1) })
        }
        let report = try CodebookCorpusTraining.fit(codebooks, sequences: windows, options: options, progress: progressDisplay())
        let summary = CodebookTrainSummary(command: self, source: loaded.source, corpusTokens: tokens.count, windows: windows.count,
                                           layers: codebooks.entries.map(\.site.layer), report: report)
        try CodebookBundle.save(codebooks, to: out, modelSource: loaded.source, metrics: summary.bundleMetrics,
                                command: (["intervene"] + CommandLine.arguments.dropFirst()).joined(separator: " "))
        if let modelOut {
            // The bundle's fingerprint is that of the trained weights: save them too.
            try saveBaseWeights(decoder, to: modelOut)
        }
        if let metricsJson {
            try summary.jsonData(pretty: true).write(to: URL(fileURLWithPath: metricsJson))
        }
        if output.json {
            print(String(decoding: try summary.jsonData(pretty: false), as: UTF8.self))
        } else {
            print(summary.tableText)
            print(String(format: "wrote %d codebooks to %@ (loss %.4f → %.4f, %.0f tokens/s)", report.metricsAfter.count, out,
                         report.evaluationLossBefore, report.evaluationLossAfter, report.training.tokensPerSecond))
        }
        return (codebooks, report)
    }

    /// The codebook spec the flags describe.
    func codebookSpec() throws -> CodebookSpec {
        try requireAtLeast(1, codes, flag: "--codes")
        guard k >= 1 && k <= codes else {
            throw CodeAnalysisError.invalidOption(field: "--k", value: "\(k)", allowed: "1...\(codes) (at most --codes)")
        }
        guard groups == -1 || groups >= 1 else {
            throw CodeAnalysisError.invalidOption(field: "--groups", value: "\(groups)", allowed: "an integer ≥ 1, or -1 for one per attention head")
        }
        let placement = try flag("--at", at) { try CodebookPlacement(parsing: $0) }
        let metric = try flag("--similarity", similarity) { try CodebookSimilarity(parsing: $0) }
        let loss = try flag("--objective", objective) { try CodebookObjective(parsing: $0) }
        return CodebookSpec(placement: placement, layers: try layerList(), codeCount: codes, k: k, groups: groups,
                            similarity: metric, objective: loss)
    }

    /// `--layers`: nil for "all", else the listed integers.
    func layerList() throws -> [Int]? {
        let text = layers.trimmingCharacters(in: .whitespaces)
        if text == "all" { return nil }
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        let values = parts.compactMap { Int($0) }
        guard !parts.isEmpty, values.count == parts.count else {
            throw CodeAnalysisError.invalidOption(field: "--layers", value: "'\(layers)'", allowed: "'all' or comma-separated layer indices such as 0,3,-1")
        }
        return values
    }

    /// The training options the flags describe.
    func trainingOptions() throws -> CodebookCorpusTrainingOptions {
        try requireAtLeast(2, context, flag: "--context")
        try requireAtLeast(0, steps, flag: "--steps")
        try requireAtLeast(1, batch, flag: "--batch")
        try requireAtLeast(0, kmeansIterations, flag: "--kmeans-iterations")
        if kmeansInit { try requireAtLeast(Swift.max(codes, 1), kmeansRows, flag: "--kmeans-rows") }
        try requireAtLeast(0, replaceDeadEvery, flag: "--replace-dead-every")
        if trainModel != (modelOut != nil) {
            throw CodeAnalysisError.invalidOption(field: "--model-out", value: modelOut.map { "'\($0)' without --train-model" } ?? "missing",
                                                  allowed: "a .safetensors path, given exactly when --train-model is (the bundle fits only the trained weights)")
        }
        guard lr.isFinite && lr > 0 else { throw CodeAnalysisError.invalidOption(field: "--lr", value: "\(lr)", allowed: "a finite number > 0") }
        guard replaceNoise.isFinite && replaceNoise >= 0 else {
            throw CodeAnalysisError.invalidOption(field: "--replace-noise", value: "\(replaceNoise)", allowed: "a finite number ≥ 0")
        }
        return CodebookCorpusTrainingOptions(steps: steps, batchSize: batch, learningRate: lr, trainModel: trainModel,
                                             replaceDeadEvery: replaceDeadEvery, replacementNoise: replaceNoise, seed: seed)
    }

    /// The corpus file's text; throws when it is missing, not UTF-8, or blank.
    func corpusText() throws -> String {
        guard let data = FileManager.default.contents(atPath: corpus) else {
            throw CodeAnalysisError.invalidOption(field: "--corpus", value: "'\(corpus)' (missing or unreadable)", allowed: "a readable plain-text file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw CodeAnalysisError.invalidOption(field: "--corpus", value: "'\(corpus)' (not UTF-8)", allowed: "a UTF-8 plain-text file")
        }
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw CodeAnalysisError.invalidOption(field: "--corpus", value: "'\(corpus)' (empty)", allowed: "a file with some text")
        }
        return text
    }

    /// A progress bar on a terminal; otherwise about ten plain lines on standard error (none with --json).
    func progressDisplay() -> ((CodebookTrainingStep) -> Void)? {
        if output.json { return nil }
        let bar = TerminalProgress(label: "training")
        if bar.live { return { bar.update($0.step, $0.steps) } }
        return { s in
            guard s.step % Swift.max(1, s.steps / 10) == 0 || s.step == s.steps else { return }
            let line = String(format: "step %d/%d loss %.4f codebook loss %.4f%@\n", s.step, s.steps, s.loss, s.auxiliaryLoss,
                              s.replacedCodes > 0 ? " replaced \(s.replacedCodes) codes" : "")
            FileHandle.standardError.write(Data(line.utf8))
        }
    }

    /// Writes the model's own parameters (not the inserted codebooks; tied ones once) as
    /// safetensors under the checkpoint's names, like `Module.save`.
    func saveBaseWeights(_ model: DecoderModel, to path: String) throws {
        var items: [String: SafeTensorsWriter.Item] = [:], seen = Set<ObjectIdentifier>()
        model.visitParameters { key, p in
            if !key.hasPrefix("insertions.") && seen.insert(ObjectIdentifier(p)).inserted { items[key] = .float(p.value.detached()) }
        }
        try SafeTensorsWriter.write(items, metadata: ["format": "pt"], to: path)
    }

    /// Parses `value` with `parse`, re-throwing a failure as an error naming `name`.
    private func flag<T>(_ name: String, _ value: String, _ parse: (String) throws -> T) throws -> T {
        do { return try parse(value) } catch let error as CodebookError {
            guard case .invalidHyperparameter(_, let bad, let allowed) = error else { throw error }
            throw CodeAnalysisError.invalidOption(field: name, value: bad, allowed: allowed)
        }
    }
}
