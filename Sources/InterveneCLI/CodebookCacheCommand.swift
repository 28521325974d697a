import ArgumentParser
import CausalAbstraction
import Features
import Foundation
import Models

/// `intervene codebook cache --model M --codebooks BUNDLE --prompts FILE --out DIR`.
struct CodebookCacheCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache",
        abstract: "Run a model with a codebook bundle over prompts and write the codes to a cache folder.",
        discussion: """
        --prompts is a text file with one prompt per line (or a .jsonl file of JSON strings / {"prompt": …}).
        The folder holds manifest.json (kind codebook-cache, version 1), tokens.json (ids, per-token pieces, text)
        and codes.safetensors (codes.<codebook> (N, k) int64, vectors.<codebook>, neurons.<entry> with --neurons). The manifest
        records the bundle's absolute path, which `intervene serve CACHE --model M` loads for its live code actions.
        """
    )

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var output: OutputOptions

    @Option(help: "A codebook bundle folder (bundle.json + weights.safetensors) made for this model.")
    var codebooks: String

    @Option(help: "A file of prompts, one per line.")
    var prompts: String

    @Option(help: "The cache folder to write (replaced if it exists).")
    var out: String

    @Flag(help: "Also store each codebook's LayerNorm'd input, for the best-neuron baseline of `search --baseline`.")
    var neurons = false

    func run() throws {
        do {
            let loaded = try modelOptions.load(quiet: output.json)
            guard let decoder = loaded.model as? DecoderModel else {
                throw ModelError.invalidInput("--model \(modelOptions.model) is a \(loaded.model.modelType) model; codebooks need a decoder model")
            }
            let codebookModel = try CodebookBundle.load(from: codebooks, onto: decoder)
            let tokenizer = try loaded.requireTokenizer()
            let texts = try ActivationExport.prompts(fromFile: prompts)
            guard !texts.isEmpty else {
                throw CodeAnalysisError.invalidOption(field: "--prompts", value: "'\(prompts)' (no prompts)", allowed: "a file with at least one non-blank line")
            }
            let bar = TerminalProgress(label: "collecting codes")
            let progress: ((Int, Int) -> Void)? = output.json ? nil : { bar.update($0, $1) }
            let (codes, metrics) = try CollectedCodes.collect(codebookModel, tokenizer: tokenizer, prompts: texts, neurons: neurons,
                                                              progress: progress)
            let identity = CodebookCacheManifest.Model(type: decoder.modelType, fingerprint: CodebookBundle.baseFingerprint(decoder), source: loaded.source)
            // The bundle as an absolute path, so `intervene serve CACHE --model M` finds it from any folder.
            let bundle = URL(fileURLWithPath: codebooks).standardizedFileURL.path
            let manifest = try CodebookCache.write(codes, to: out, model: identity, bundle: bundle, metrics: metrics.flattened)
            if output.json {
                let names: [String] = manifest.codebooks.map { $0.name }
                try printJSON(["cache": out, "documents": manifest.documents, "tokens": manifest.tokens, "codebooks": names,
                               "metrics": manifest.metrics] as [String: Any])
            } else {
                print("wrote \(manifest.documents) prompts, \(manifest.tokens) tokens, \(manifest.codebooks.count) codebooks to \(out)")
                print(String(format: "next-token loss %.4f", metrics.loss))
            }
        } catch {
            throw fail(error)
        }
    }
}
