import Features
import Foundation

/// What `intervene codebook train` reports: the settings, the run's losses and throughput, and
/// each codebook's metrics before and after training — as bundle metrics, a JSON object
/// (`--metrics-json`, `--json`) and a table.
struct CodebookTrainSummary {
    let command: CodebookTrainCommand
    let source: String
    let corpusTokens: Int
    let windows: Int
    let layers: [Int]
    let report: CodebookCorpusReport

    /// Flat metrics for bundle.json: the run's figures and "<codebook>.<metric>" per codebook.
    var bundleMetrics: [String: Double] {
        var metrics: [String: Double] = [
            "eval_loss_before": Double(report.evaluationLossBefore), "eval_loss_after": Double(report.evaluationLossAfter),
            "final_loss": Double(report.training.finalLoss), "recent_loss": Double(report.training.recentLoss),
            "steps": Double(report.training.steps), "tokens": Double(report.training.tokens), "replaced_codes": Double(report.replacedCodes),
        ]
        for m in report.metricsAfter {
            metrics["\(m.name).dead_fraction"] = m.deadFraction
            metrics["\(m.name).reconstruction_mse"] = m.reconstructionMSE
            metrics["\(m.name).active_codes"] = Double(m.activeCodes)
        }
        return metrics
    }

    /// The summary as a JSON object (sorted keys).
    func jsonData(pretty: Bool) throws -> Data {
        let before = Dictionary(report.metricsBefore.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let codebooks: [[String: Any]] = report.metricsAfter.map { m in
            var entry: [String: Any] = ["name": m.name, "codes": m.codeCount, "active_codes": m.activeCodes, "dead_fraction": m.deadFraction,
                                        "reconstruction_mse": m.reconstructionMSE]
            if let b = before[m.name] {
                entry["active_codes_before"] = b.activeCodes
                entry["dead_fraction_before"] = b.deadFraction
                entry["reconstruction_mse_before"] = b.reconstructionMSE
            }
            return entry
        }
        let t = report.training
        let object: [String: Any] = [
            "model": source, "corpus": command.corpus, "corpus_tokens": corpusTokens, "windows": windows, "context": command.context,
            "placement": command.at, "layers": Array(Set(layers)).sorted(), "codes": command.codes, "k": command.k, "groups": command.groups,
            "similarity": command.similarity, "objective": command.objective, "batch": command.batch, "learning_rate": Double(command.lr),
            "train_model": command.trainModel, "kmeans_init": command.kmeansInit, "replace_dead_every": command.replaceDeadEvery,
            "seed": command.seed, "bundle": command.out,
            "steps": t.steps, "tokens": t.tokens, "seconds": t.seconds, "tokens_per_second": t.tokensPerSecond,
            "initial_loss": Double(report.initialLoss), "final_loss": Double(t.finalLoss), "recent_loss": Double(t.recentLoss),
            "final_auxiliary_loss": Double(t.finalAuxiliaryLoss), "eval_loss_before": Double(report.evaluationLossBefore),
            "eval_loss_after": Double(report.evaluationLossAfter), "replaced_codes": report.replacedCodes,
            "replacement_rounds": report.replacementRounds, "codebooks": codebooks,
        ]
        return try JSONSerialization.data(withJSONObject: object, options: pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes])
    }

    /// One row per codebook: active codes, dead fraction and reconstruction MSE, after (before).
    var tableText: String {
        let before = Dictionary(report.metricsBefore.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let rows = report.metricsAfter.map { m -> [String] in
            let b = before[m.name]
            return [m.name, "\(m.activeCodes)/\(m.codeCount)" + (b.map { " (\($0.activeCodes))" } ?? ""),
                    fraction(m.deadFraction) + (b.map { " (\(fraction($0.deadFraction)))" } ?? ""),
                    String(format: "%.4f", m.reconstructionMSE) + (b.map { String(format: " (%.4f)", $0.reconstructionMSE) } ?? "")]
        }
        return table(["codebook", "active codes (before)", "dead fraction (before)", "reconstruction MSE (before)"], rows)
    }
}

