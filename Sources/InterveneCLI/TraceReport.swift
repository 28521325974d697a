import CausalAbstraction
import Foundation
import Models

/// The grids `intervene trace` and `intervene patch` compute, from --component and --window, and
/// their printed summary.
enum TraceReport {
    /// `all` → block_output (single layers), attention_output and mlp_output (windows of
    /// `window` layers, as Meng et al.); one component → that component with `window` (a window
    /// never applies to block_output under `all`); windows are clipped to the model's layers.
    /// Throws naming --component or --window.
    static func specs(component: String, window: Int, model: any HookableModel) throws -> [TraceGridSpec] {
        guard window >= 1 else {
            throw ExperimentError.invalid(file: "--window", field: "window", value: "\(window)", expected: "an integer ≥ 1 (windows are clipped to the model's \(model.siteTable.layers) layers)")
        }
        let specs: [TraceGridSpec]
        if component == "all" {
            specs = [TraceGridSpec(component: .blockOutput), TraceGridSpec(component: .attentionOutput, window: window),
                     TraceGridSpec(component: .mlpOutput, window: window)]
        } else {
            guard model.siteTable.specs[Component(component)] != nil else {
                throw ExperimentError.invalid(file: "--component", field: "component", value: quote(component),
                                              expected: "all, block_output, attention_output, mlp_output or another position-major component of this model")
            }
            specs = [TraceGridSpec(component: Component(component), window: window)]
        }
        for spec in specs {
            do {
                _ = try AttributionPatching.gridSpec(spec.component, model: model)
            } catch ExperimentError.invalid(_, let field, let value, let expected) {
                throw ExperimentError.invalid(file: "--component", field: field, value: value, expected: expected)
            }
        }
        return specs
    }

    static func quote(_ s: String) -> String { "\"" + s + "\"" }

    /// Prints the summary, writes trace.json and the heatmaps into `out`, and lists the files.
    static func finish(_ trace: CausalTrace, out: String, title: String) throws {
        print(text(trace))
        let files = try trace.write(to: out, title: title)
        print("\nwrote " + files.joined(separator: ", "))
    }

    /// Clean and corrupted metric, then per grid the strongest cell and, per position, the layer
    /// of its largest effect.
    static func text(_ trace: CausalTrace) -> String {
        var lines = [String(format: "%@: clean %.4f, corrupted %.4f (%@); %.1f s", trace.metric, trace.clean, trace.corrupted,
                            trace.kind == "causal_tracing" ? String(format: "noise ν = %.4f on positions %@, %d samples", trace.noiseStd ?? 0,
                                                                     trace.corruptedPositions.description, trace.samples)
                                : "prompts differ at positions \(trace.corruptedPositions)", trace.seconds)]
        for grid in trace.grids {
            let spec = TraceGridSpec(component: Component(grid.component), window: grid.window)
            lines.append("")
            lines.append("\(spec.label): largest indirect effect per position")
            let rows = trace.tokens.indices.map { p -> [String] in
                let column = grid.effects.map { $0[p] }
                let best = column.indices.max { column[$0] < column[$1] } ?? 0
                return ["\(p)", String(reflecting: trace.tokens[p]) + (trace.corruptedPositions.contains(p) ? " *" : ""),
                        "L\(best)", String(format: "%+.4f", column[best]), String(format: "%.4f", grid.values[best][p])]
            }
            lines.append(table(["pos", "token", "layer", "effect", "restored"], rows))
        }
        return lines.joined(separator: "\n")
    }
}
