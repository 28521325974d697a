import ArgumentParser
import CausalAbstraction
import Foundation
import Models

/// `intervene trace --model M --prompt P --subject S --answer A [--component …] [--window 10] [--samples N] [--noise 3] --out DIR`.
struct TraceCommand: ExecutingCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Causal tracing (Meng et al. 2022): which activations carry the subject to the answer.",
        discussion: """
        Adds Gaussian noise of standard deviation --noise × σ (σ: the standard deviation of the model's token embeddings) to the
        embeddings of the subject's tokens, --samples draws from --seed, then restores the clean activation at each (layer, position)
        of --component and reads p(answer) at the last position. all = block_output at single layers and attention_output and
        mlp_output restored over --window layers around each layer ([l − w/2, l + w/2)). Indirect effect = p_restored − p_corrupted.
        Writes DIR/trace.json and one SVG heatmap per grid. The answer must be one token (mind the leading space, " Paris").
        Example: intervene trace --model SmolLM2.gguf --prompt "The Eiffel Tower is located in the city of" --subject "The Eiffel Tower" \\
                 --answer " Paris" --out trace-eiffel
        """
    )

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "The prompt (the clean run).")
    var prompt: String

    @Option(help: "The subject: a substring of the prompt whose tokens are noised (every token it overlaps).")
    var subject: String?

    @Option(name: .customLong("subject-tokens"), help: "The subject as a token range A:B (B exclusive) instead of --subject.")
    var subjectTokens: String?

    @Option(help: "The answer whose probability is traced (one token, e.g. \" Paris\").")
    var answer: String

    @Option(help: "Noise samples averaged.")
    var samples: Int = 10

    @Option(help: "The noise's standard deviation in units of the token embeddings' standard deviation.")
    var noise: Double = 3

    @Option(help: "The seed of the noise.")
    var seed: UInt64 = 1

    @Option(help: "Layers restored together for attention_output and mlp_output (1: single layers).")
    var window: Int = 10

    @OptionGroup var grid: TraceGridOptions

    func validate() throws {
        guard samples >= 1 && samples <= 10_000 else { throw ValidationError("--samples must be in 1...10000, got \(samples)") }
        guard noise > 0 && noise.isFinite else { throw ValidationError("--noise must be a positive number, got \(noise)") }
    }

    /// Traces, prints the summary and writes the files; returns the trace.
    @discardableResult
    func execute() throws -> CausalTrace {
        let loaded = try modelOptions.load()
        let tokenizer = try loaded.requireTokenizer(), model = loaded.model
        let question = try TracingPrompt(tokenizer: tokenizer, prompt: prompt)
        let range: Range<Int>
        switch (subject, subjectTokens) {
        case (let s?, nil): range = try question.subjectRange(s)
        case (nil, let t?): range = try question.tokenRange(t)
        default:
            throw ExperimentError.invalid(file: "--subject", field: "subject", value: subject == nil ? "missing" : "both --subject and --subject-tokens",
                                          expected: "exactly one of --subject TEXT or --subject-tokens A:B")
        }
        let (metric, label) = try TracingPrompt.metric(target: answer, distractor: nil, tokenizer: tokenizer, targetField: "--answer")
        let specs = try grid.specs(metric: metric, window: window, model: model)
        let sigma = try TracingNoise.embeddingStandardDeviation(model: model)
        let bar = TerminalProgress(label: "tracing")
        let trace = try CausalTrace.trace(model: model, tokens: question.tokens, tokenTexts: question.tokenTexts, subject: range, metric: metric,
                                          label: label, specs: specs, noiseStd: noise * sigma, samples: samples, seed: seed, maxRows: grid.maxRows,
                                          progress: { bar.update($0, $1) })
        try grid.finish(trace, title: "causal trace of \(label)")
        return trace
    }
}
