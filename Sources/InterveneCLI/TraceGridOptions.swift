import ArgumentParser
import CausalAbstraction
import Models

/// `--component`, `--max-rows` and `--out`, shared by `intervene trace` and `intervene patch`
/// (each command keeps its own `--window`, whose default differs), with the checks both run
/// before computing a grid.
struct TraceGridOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "all, block_output, attention_output, mlp_output (or another position-major component).")
    var component: String = "all"

    @Option(name: .customLong("max-rows"), help: "Runs per batched forward pass.")
    var maxRows: Int = 32

    @Option(help: "The folder for trace.json and the SVG heatmaps.")
    var out: String

    func validate() throws {
        guard maxRows >= 1 else { throw ValidationError("--max-rows must be at least 1, got \(maxRows)") }
    }

    /// The grids of --component with `window` (see `TraceReport.specs`), after checking that the
    /// metric's tokens lie in the vocabulary of a causal language model. Throws
    /// `ExperimentError.invalid` naming the token, --component or --window.
    func specs(metric: AttributionMetric, window: Int, model: any HookableModel) throws -> [TraceGridSpec] {
        if let vocabulary = (model as? any CausalLanguageModel)?.vocabularySize { try metric.check(vocabulary: vocabulary) }
        return try TraceReport.specs(component: component, window: window, model: model)
    }

    /// Prints the summary, writes trace.json and the heatmaps into --out, and lists the files.
    func finish(_ trace: CausalTrace, title: String) throws {
        try TraceReport.finish(trace, out: out, title: title)
    }
}
