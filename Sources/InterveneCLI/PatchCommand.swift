import ArgumentParser
import CausalAbstraction
import Foundation
import Models

/// `intervene patch --model M --clean P --corrupted P2 --target T [--distractor D] [--component …] --out DIR`.
struct PatchCommand: ExecutingCommand {
    static let configuration = CommandConfiguration(
        commandName: "patch",
        abstract: "Activation patching: which activations of a clean prompt restore its answer in a contrastive prompt's run.",
        discussion: """
        Runs --corrupted (as many tokens as --clean) with the clean prompt's activation patched in at each (layer, position) of
        --component, one node (or --window layers) at a time, and reads the metric at the last position: p(target), or
        logit(target) − logit(distractor) with --distractor. all = block_output, attention_output and mlp_output (the window applies
        to the last two). Writes DIR/trace.json and one SVG heatmap per grid.
        Example: intervene patch --model SmolLM2.gguf --clean "The Eiffel Tower is in the city of" \\
                 --corrupted "The Colosseum is in the city of" --target " Paris" --distractor " Rome" --out patch-eiffel
        """
    )

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "The clean prompt, whose activations are patched in.")
    var clean: String

    @Option(help: "The corrupted prompt (as many tokens), whose run is patched.")
    var corrupted: String

    @Option(help: "The clean answer (one token).")
    var target: String

    @Option(help: "The corrupted prompt's answer (one token): the metric becomes logit(target) − logit(distractor).")
    var distractor: String?

    @Option(help: "Layers patched together for attention_output and mlp_output (1: single layers).")
    var window: Int = 1

    @OptionGroup var grid: TraceGridOptions

    /// Patches, prints the summary and writes the files; returns the result.
    @discardableResult
    func execute() throws -> CausalTrace {
        let loaded = try modelOptions.load()
        let tokenizer = try loaded.requireTokenizer(), model = loaded.model
        let cleanPrompt = try TracingPrompt(tokenizer: tokenizer, prompt: clean, field: "--clean")
        let corruptedPrompt = try cleanPrompt.contrast(corrupted, tokenizer: tokenizer)
        let (metric, label) = try TracingPrompt.metric(target: target, distractor: distractor, tokenizer: tokenizer)
        let specs = try grid.specs(metric: metric, window: window, model: model)
        let bar = TerminalProgress(label: "patching")
        let result = try CausalTrace.patch(model: model, clean: cleanPrompt.tokens, corrupted: corruptedPrompt.tokens,
                                           tokenTexts: cleanPrompt.tokenTexts, metric: metric, label: label, specs: specs, maxRows: grid.maxRows,
                                           progress: { bar.update($0, $1) })
        try grid.finish(result, title: "activation patching of \(label)")
        return result
    }
}
