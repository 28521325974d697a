import ArgumentParser
import Features
import Foundation
import Models

/// `intervene sae eval --sae DIR --model M --site S --corpus FILE`.
struct SAEEvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a sparse autoencoder at a site over a text corpus: variance explained, L0, dead and dense latents, CE loss recovered.",
        discussion: """
        --sae is a folder in SAELens' format. CE loss recovered = (CE_zero − CE_spliced) / (CE_zero − CE_clean): next-token
        cross-entropy with the reconstruction spliced in at the site, against the clean model and the site zero-ablated
        (at every position after --skip-positions). Dense latents fire on more than 10% of tokens.
        """
    )

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var corpusOptions: SAECorpusOptions
    @OptionGroup var output: OutputOptions

    @Option(help: "The SAE folder (cfg.json + sae_weights.safetensors).")
    var sae: String

    @Option(parsing: .unconditional, help: "Evaluate at most this many tokens (default: the whole corpus).")
    var tokens: Int?

    @Option(name: .customLong("out"), help: "Also write the evaluation JSON to this file.")
    var outFile: String?

    func run() throws {
        do {
            if let tokens { try checkFlag(tokens >= 1, "--tokens", tokens, "an integer ≥ 1") }
            try corpusOptions.check()
            let autoencoder = try SAELensFormat.load(folder: sae)
            let loaded = try modelOptions.load(quiet: output.json)
            let windows = try corpusOptions.windows(try loaded.requireTokenizer(), repeats: false)
            let options = SAEEvaluationOptions(windowsPerPass: corpusOptions.windows, maxTokens: tokens, positions: corpusOptions.positions)
            var lines = SAEProgressLines(label: "evaluating")
            let total = tokens ?? 0
            let result = try SAEEvaluation.evaluate(autoencoder, model: loaded.model, site: try Site(parsing: corpusOptions.site),
                                                    windows: windows, options: options) { done in
                if total > 0 { lines.update(min(done, total), total, "\(done) tokens") }
            }
            if total > 0 && result.tokens < total { lines.update(total, total, "corpus ended at \(result.tokens) tokens") }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let data = try encoder.encode(result)
            if let outFile { try data.write(to: URL(fileURLWithPath: outFile), options: .atomic) }
            if output.json {
                print(String(decoding: data, as: UTF8.self))
            } else {
                print("\(result.tokens) tokens at \(corpusOptions.site)")
                print(String(format: "variance explained %.4f, MSE %.4g, mean L0 %.2f, dead %.3f, dense %.3f",
                             result.varianceExplained, result.meanSquaredError, result.meanL0, result.deadFraction, result.denseFraction))
                print(String(format: "CE loss recovered %.4f (clean %.4f, spliced %.4f, zero-ablated %.4f)",
                             result.lossRecovered, result.cleanLoss, result.splicedLoss, result.zeroLoss))
            }
        } catch {
            throw fail(error)
        }
    }
}
