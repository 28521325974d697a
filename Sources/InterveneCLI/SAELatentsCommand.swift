import ArgumentParser
import Features
import Foundation
import Intervene
import Models
import Tensors

/// `intervene sae latents --model M --site S --sae DIR --corpus FILE --out DIR`.
struct SAELatentsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "latents",
        abstract: "Analyse every latent of a sparse autoencoder over a corpus into a cache folder: top activating contexts, activation histograms, logit lens.",
        discussion: """
        The corpus is cut into windows of --window tokens (documents run on across windows); the first --skip-positions
        tokens of each window are left out. Memory stays bounded: per latent only its --top best contexts and --bins counts
        are kept. The logit lens (the --tokens tokens each decoder direction promotes and suppresses) passes W_dec through
        the final norm's weight and the unembedding; it needs an SAE as wide as the residual stream (else it is left out).
        The folder holds manifest.json (kind sae-latents, version 1), latents.safetensors and vocabulary.json — see
        LatentCache in Sources/Features for every field.
        """
    )

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var output: OutputOptions

    @Option(parsing: .unconditional, help: "The site: LAYER:COMPONENT, L6.block_output or a TransformerLens name (negative layers count from the end).")
    var site: String

    @Option(help: "The SAE: a SAELens folder or a .pt/.bin checkpoint (see `sae import`).")
    var sae: String

    @OptionGroup var choices: SAEImportChoices

    @Option(help: "A text file.")
    var corpus: String

    @Option(help: "The cache folder to write (replaced if it exists).")
    var out: String

    @Option(parsing: .unconditional, help: "Top activating contexts kept per latent.")
    var top: Int = 20

    @Option(parsing: .unconditional, help: "Tokens stored on each side of an activating token.")
    var context: Int = 8

    @Option(parsing: .unconditional, help: "Promoted and suppressed tokens per latent in the logit lens (0: no lens).")
    var tokens: Int = 10

    @Option(parsing: .unconditional, help: "Histogram bins (even).")
    var bins: Int = 32

    @Option(parsing: .unconditional, help: "Tokens per window.")
    var window: Int = 128

    @Option(parsing: .unconditional, help: "Windows per forward pass.")
    var batch: Int = 8

    @Option(name: .customLong("skip-positions"), parsing: .unconditional, help: "Leading positions of each window left out (1: the attention-sink token).")
    var skipPositions: Int = 1

    @Option(name: .customLong("max-tokens"), parsing: .unconditional, help: "Read at most this many corpus tokens (default: all).")
    var maxTokens: Int?

    var options: LatentAnalysisOptions {
        LatentAnalysisOptions(top: top, contextRadius: context, bins: bins, logitTokens: tokens, batchSize: batch, skipPositions: skipPositions)
    }

    /// Checks the flags, runs the analysis, writes the cache; returns its manifest.
    @discardableResult
    func execute() throws -> LatentCacheManifest {
        try LatentAnalysis.check(options)
        guard window > skipPositions, window >= 2 else {
            throw SAEError.invalid(field: "--window", value: "\(window)", allowed: "an integer ≥ 2 and above --skip-positions (\(skipPositions))")
        }
        if let maxTokens, maxTokens < window { throw SAEError.invalid(field: "--max-tokens", value: "\(maxTokens)", allowed: "at least --window (\(window))") }
        let (autoencoder, _) = try choices.load(sae)
        let parsedSite = try Site(parsing: site)
        let loaded = try modelOptions.load(quiet: output.json)
        let tokenizer = try loaded.requireTokenizer()
        let ids = try corpusTokens(tokenizer)
        guard ids.count > skipPositions else {
            throw SAEError.invalid(field: "--corpus", value: "'\(corpus)' (\(ids.count) tokens)", allowed: "a text of more than --skip-positions tokens")
        }
        let windows = stride(from: 0, to: ids.count, by: window).map { $0..<Swift.min($0 + window, ids.count) }.filter { $0.count > skipPositions }
        let bar = TerminalProgress(label: "latents")
        var next = windows.makeIterator()
        let started = Date()
        let statistics = try LatentAnalysis.statistics(of: autoencoder, model: loaded.model, site: parsedSite, options: options,
                                                       nextWindow: { next.next().map { Array(ids[$0]) } },
                                                       progress: output.json ? nil : { done, _ in bar.update(done, windows.count) })
        let seconds = Date().timeIntervalSince(started)
        var lens: LatentLogitLens?
        if tokens > 0, let decoder = loaded.model as? DecoderModel, decoder.config.width == autoencoder.width {
            lens = try LatentLogitLens.compute(decoder: autoencoder.decoderWeight.value, model: decoder, count: Swift.min(tokens, decoder.config.vocabularySize))
        } else if tokens > 0 && !output.json {
            FileHandle.standardError.write(Data("note: no logit lens (the SAE is not as wide as the model's residual stream)\n".utf8))
        }
        let pieces = (0..<tokenizer.vocabularySize).map { tokenizer.decode([$0], skipSpecialTokens: false) }
        let resolved = try loaded.model.siteTable.resolved(parsedSite)
        let manifest = try LatentCache.write(
            to: out, statistics: statistics, logitLens: lens, pieces: pieces,
            model: .init(type: loaded.model.modelType, fingerprint: ModelFingerprint.of(loaded.model), source: loaded.source), site: "\(resolved)",
            sae: .init(source: sae, dIn: autoencoder.width, dSae: autoencoder.latents, architecture: SAEImportChoices.architectureName(autoencoder.activation),
                       k: SAEImportChoices.k(of: autoencoder.activation)),
            corpus: .init(source: corpus, windows: windows.count, windowTokens: window, tokens: statistics.tokens, skipPositions: skipPositions))
        if output.json {
            try printJSON(["out": out, "latents": autoencoder.latents, "tokens": statistics.tokens, "windows": windows.count,
                           "seconds": seconds, "tokens_per_second": Double(statistics.tokens) / Swift.max(seconds, 1e-9),
                           "metrics": manifest.metrics, "logit_lens": lens != nil] as [String: Any])
        } else {
            print(String(format: "wrote %d latents over %d tokens (%.0f tokens/s) to %@; dead %.3f, mean L0 %.1f",
                         autoencoder.latents, statistics.tokens, Double(statistics.tokens) / Swift.max(seconds, 1e-9), out,
                         manifest.metrics["dead_fraction"] ?? 0, manifest.metrics["mean_l0"] ?? 0))
        }
        return manifest
    }

    func run() throws {
        do { try execute() } catch { throw fail(error) }
    }

    /// The corpus's token ids, line by line, up to --max-tokens.
    func corpusTokens(_ tokenizer: any Tokenizer) throws -> [Int] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: corpus, isDirectory: &isDirectory), !isDirectory.boolValue,
              let data = FileManager.default.contents(atPath: corpus) else {
            throw SAEError.invalid(field: "--corpus", value: "'\(corpus)' (missing, a folder, or unreadable)", allowed: "a readable text file")
        }
        var ids: [Int] = []
        let limit = maxTokens ?? Int.max
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false) where ids.count < limit {
            ids += tokenizer.encode(String(line) + "\n", addSpecialTokens: false).ids
        }
        return Array(ids.prefix(limit))
    }
}
