import ArgumentParser
import Features
import Foundation
import Models

/// `intervene sae train --model M --site S --corpus FILE --out DIR`.
struct SAETrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a sparse autoencoder on a model's activations at a site, streamed over a text corpus.",
        discussion: """
        The corpus is read again from the start when it runs out. Activations pass through a shuffle buffer of --buffer rows;
        the SAE is written to --out in SAELens' format (cfg.json + sae_weights.safetensors). relu trains with an L1 penalty
        weighted by decoder norms (--l1), topk and batchtopk with AuxK for dead latents (batchtopk is saved as jumprelu with
        one global threshold), jumprelu with an L0 penalty (--l1 is its coefficient).
        Example: intervene sae train --model SmolLM2.gguf --site 15:block_output --corpus fortunes.txt --architecture topk \\
                 --k 32 --latents 4608 --tokens 500000 --out sae-l15
        """
    )

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var corpusOptions: SAECorpusOptions
    @OptionGroup var output: OutputOptions

    @Option(help: "relu, topk, batchtopk or jumprelu.")
    var architecture: String = "topk"

    @Option(parsing: .unconditional, help: "Latents (default 8 × the site's width).")
    var latents: Int?

    @Option(parsing: .unconditional, help: "Active latents per token (topk) or on average (batchtopk).")
    var k: Int = 32

    @Option(parsing: .unconditional, help: "Sparsity coefficient: L1 (relu) or L0 (jumprelu); default 5 (relu), 0.3 (jumprelu).")
    var l1: Float?

    @Option(parsing: .unconditional, help: "Optimiser steps (or give --tokens).")
    var steps: Int?

    @Option(parsing: .unconditional, help: "Training tokens; steps = ⌈tokens / batch⌉.")
    var tokens: Int?

    @Option(parsing: .unconditional, help: "Tokens per step.")
    var batch: Int = 4096

    @Option(parsing: .unconditional, help: "Adam's learning rate (default 1e-3; relu 5e-4).")
    var lr: Float?

    @Option(parsing: .unconditional, help: "Seed of the weights and the shuffling.")
    var seed: Int = 0

    @Option(parsing: .unconditional, help: "Rows the shuffle buffer holds.")
    var buffer: Int = 131_072

    @Option(parsing: .unconditional, help: "Times each activation row is trained on (more steps per forward pass of the model).")
    var reuse: Int = 1

    @Option(name: .customLong("dead-window"), parsing: .unconditional, help: "A latent is dead after this many training tokens without firing.")
    var deadWindow: Int = 1_000_000

    @Option(help: "The folder to write the SAE to (SAELens format).")
    var out: String

    @Option(name: .customLong("metrics-json"), help: "Also write the training metrics to this JSON file.")
    var metricsJSON: String?

    /// The activation named by --architecture and --k.
    func activation() throws -> SAEActivation {
        switch architecture {
        case "relu": return .relu
        case "topk": return .topK(k)
        case "batchtopk": return .batchTopK(k)
        case "jumprelu": return .jumpReLU
        default: throw SAEError.invalid(field: "--architecture", value: "'\(architecture)'", allowed: "relu, topk, batchtopk, jumprelu")
        }
    }

    /// Throws `SAEError` naming the first flag out of range (all but those that need the site's width).
    func checkFlags() throws {
        let activation = try activation()
        if let latents { try checkFlag(latents >= 1, "--latents", latents, "an integer ≥ 1") }
        if activation.k != nil { try checkFlag(k >= 1 && k <= (latents ?? .max), "--k", k, "1...\(latents.map(String.init) ?? "--latents") (the latents)") }
        try checkFlag(batch >= 1, "--batch", batch, "an integer ≥ 1")
        try checkFlag((steps == nil) != (tokens == nil), "--steps/--tokens", "\(steps.map(String.init) ?? "unset")/\(tokens.map(String.init) ?? "unset")",
                      "exactly one of them")
        if let steps { try checkFlag(steps >= 1, "--steps", steps, "an integer ≥ 1") }
        if let tokens { try checkFlag(tokens >= 1, "--tokens", tokens, "an integer ≥ 1") }
        if let lr { try checkFlag(lr.isFinite && lr > 0, "--lr", lr, "a finite number > 0") }
        if let l1 { try checkFlag(l1.isFinite && l1 >= 0, "--l1", l1, "a finite number ≥ 0") }
        try checkFlag(seed >= 0, "--seed", seed, "an integer ≥ 0")
        try checkFlag(buffer >= batch, "--buffer", buffer, "at least --batch (\(batch) rows)")
        try checkFlag(deadWindow >= 1, "--dead-window", deadWindow, "an integer ≥ 1 (tokens)")
        try checkFlag(reuse >= 1, "--reuse", reuse, "an integer ≥ 1")
        try corpusOptions.check()
    }

    /// SAETrainingOptions from the (checked) flags for a site of `width`.
    func trainingOptions(width: Int) throws -> SAETrainingOptions {
        let activation = try activation()
        let latents = self.latents ?? 8 * width
        if activation.k != nil { try checkFlag(k <= latents, "--k", k, "1...\(latents) (the latents)") }
        var options = SAETrainingOptions(activation: activation, latents: latents, steps: steps ?? (tokens! + batch - 1) / batch)
        options.batchSize = batch
        if let lr { options.learningRate = lr }
        if let l1 { options.sparsityCoefficient = l1 }
        options.seed = UInt64(seed)
        options.bufferRows = buffer
        options.deadAfterTokens = deadWindow
        options.rowUses = reuse
        try options.validate(width: width)
        return options
    }

    func run() throws {
        do {
            try checkFlags()
            let loaded = try modelOptions.load(quiet: output.json)
            let windows = try corpusOptions.windows(try loaded.requireTokenizer(), repeats: true)
            let source = try SiteActivationSource(model: loaded.model, site: try Site(parsing: corpusOptions.site), windows: windows,
                                                  windowsPerPass: corpusOptions.windows, positions: corpusOptions.positions)
            let options = try trainingOptions(width: source.width)
            var lines = SAEProgressLines(label: "training")
            let (sae, metrics) = try SAETraining.train(source: source, options: options) { p in
                lines.update(p.step, p.steps, String(format: "loss %.4g, variance explained %.3f, L0 %.1f, dead %.3f, %.0f tokens/s",
                                                     p.loss, p.varianceExplained, p.meanL0, p.deadFraction, Double(p.tokens) / max(p.seconds, 1e-9)))
            }
            try SAELensFormat.save(sae, to: out)
            if let metricsJSON { try metrics.write(to: metricsJSON) }
            if output.json {
                let object = try JSONSerialization.jsonObject(with: try metrics.jsonData())
                try printJSON(["out": out, "site": "\(source.site)", "corpus_passes": windows.passes, "metrics": object] as [String: Any])
            } else {
                print("wrote \(metrics.architecture) SAE (\(metrics.width) → \(metrics.latents)) to \(out)")
                print(String(format: "%d steps, %d tokens in %.1f s (%.0f tokens/s; SAE alone %.0f tokens/s), %d corpus passes",
                             metrics.steps, metrics.tokens, metrics.seconds, metrics.tokensPerSecond, metrics.saeTokensPerSecond, windows.passes))
                print(String(format: "last %d steps: variance explained %.4f, MSE %.4g, L0 %.2f; dead %.3f",
                             metrics.statisticsSteps, metrics.varianceExplained, metrics.finalMSE, metrics.meanL0, metrics.deadFraction))
            }
        } catch {
            throw fail(error)
        }
    }
}
