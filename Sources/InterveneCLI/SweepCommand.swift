import ArgumentParser
import CausalAbstraction
import Foundation
import Intervene

/// `intervene sweep EXPERIMENT.json --out DIR [--shard i/N | --shards N]`.
struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Run an alignment sweep (the experiment's \"sweep\" section): one trained intervention per cell, IIA heatmap.",
        discussion: """
        Cells are the combinations of the sweep's layers, positions, low_rank_dimensions, intervention_types and variables.
        Each finished cell is written atomically to DIR/cells/cell-NNNN.json; a re-run skips finished cells (resumable).
        Sharding: shard i of N runs the cells whose index is i modulo N. The shard comes from --shard i/N; else from
        SLURM_ARRAY_TASK_ID (minus SLURM_ARRAY_TASK_MIN) of SLURM_ARRAY_TASK_COUNT (Slurm job arrays); else from
        JOB_COMPLETION_INDEX (Kubernetes Indexed Jobs) of --shards N or \(SweepShard.countVariable)=N. Shards may share DIR
        or write separate folders; `intervene sweep-merge` combines them. Without sharding (one shard), DIR also receives
        the merged results.json, results.csv and heatmap.svg. Prints a JSON summary of the cells run and skipped.
        """
    )

    @Argument(help: "The experiment file (JSON) with a \"sweep\" section.")
    var experiment: String

    @Option(help: "The sweep output folder (shards may share it).")
    var out: String

    @Option(parsing: .unconditional, help: "This process's shard, INDEX/COUNT (0-based), e.g. 0/3.")
    var shard: String?

    @Option(help: "The shard count when the index comes from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID.")
    var shards: Int?

    @Flag(name: .long, help: "Print no progress.")
    var quiet = false

    func run() throws {
        do {
            let shard = try SweepShard.resolve(option: self.shard, shards: shards)
            let plan = try SweepPlan.load(path: experiment)
            var runner = SweepRunner(plan: plan, folder: out, shard: shard)
            let progress = SweepProgress(label: "sweep \(shard)", quiet: quiet)
            runner.onStart = { cell, done, total in progress.start(cell, done, total) }
            runner.onCell = { progress.report($0) }
            let start = Date()
            let summary = try runner.run()
            var report: [String: Any] = ["experiment_hash": plan.hash, "cells": plan.cells.count, "shard": shard.description,
                                         "ran": summary.ran, "skipped": summary.skipped, "out": out,
                                         "seconds": Date().timeIntervalSince(start)]
            if shard.count == 1 {
                let results = try SweepResults.merge([out])
                try results.write(to: out)
                if let best = results.best { report["best"] = ["index": best.cell.index, results.manifest.metric: best.metrics[results.manifest.metric] ?? .nan] }
                FileHandle.standardError.write(Data("wrote \(out)/results.json, results.csv, heatmap.svg\n".utf8))
            } else if !quiet {
                FileHandle.standardError.write(Data("shard \(shard) done; combine the shards with: intervene sweep-merge \(out) --out \(out)\n".utf8))
            }
            try printJSON(report)
        } catch {
            throw fail(error)
        }
    }
}

/// `intervene sweep-merge DIR... --out DIR`.
struct SweepMergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep-merge",
        abstract: "Combine sweep shard folders into results.json, results.csv and heatmap.svg.",
        discussion: "Refuses folders of different experiments (by the experiment's hash) and sweeps with cells no folder holds (exit code 2)."
    )

    @Argument(help: "Sweep output folders written by `intervene sweep` (one or more).")
    var folders: [String]

    @Option(help: "Where to write the merged results (may be one of the folders).")
    var out: String

    func run() throws {
        do {
            let results = try SweepResults.merge(folders)
            try results.write(to: out)
            var report: [String: Any] = ["experiment_hash": results.manifest.experimentHash, "cells": results.results.count, "out": out]
            if let best = results.best { report["best"] = ["index": best.cell.index, results.manifest.metric: best.metrics[results.manifest.metric] ?? .nan] }
            try printJSON(report)
        } catch {
            throw fail(error)
        }
    }
}

extension SweepError: CausalAbstractionInputError {}

/// Per-cell progress on standard error: a bar on a terminal, one plain line per cell otherwise.
struct SweepProgress {
    let label: String
    let quiet: Bool
    let live = isatty(STDERR_FILENO) == 1

    func start(_ cell: SweepCell, _ done: Int, _ total: Int) {
        guard !quiet, live else { return }
        TerminalProgress(label: label).update(done, total)
        FileHandle.standardError.write(Data("  cell \(cell.index): \(cell.summary)\u{1B}[K".utf8))
    }

    func report(_ event: SweepRunner.Event) {
        guard !quiet else { return }
        let metric = event.result.metrics["iia"].map { String(format: "iia %.4f", $0) } ?? ""
        let what = event.kind == .skipped ? "already finished" : String(format: "%@, %.1fs", metric, event.result.seconds)
        let line = "cell \(event.cell.index) (\(event.done)/\(event.total)) \(event.cell.summary): \(what)"
        if live {
            FileHandle.standardError.write(Data("\r\(line)\u{1B}[K\n".utf8))
            TerminalProgress(label: label).update(event.done, event.total)
        } else {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }
}
