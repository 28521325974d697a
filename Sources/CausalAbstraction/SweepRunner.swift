import Foundation
import Intervene
import Models

/// Runs one shard of a sweep into a sweep folder: builds (or loads) the model once, then for
/// every cell the shard owns that the folder does not already hold, trains and evaluates one
/// intervention (`ExperimentRunner` on the cell's experiment) and writes the cell's result
/// atomically. Re-running a shard therefore runs only its missing cells.
public struct SweepRunner {
    /// What happened to one cell of the shard.
    public struct Event: Sendable {
        public enum Kind: Sendable { case skipped, finished }
        public var kind: Kind
        public var cell: SweepCell
        /// The cell's result (finished, or read back when skipped).
        public var result: SweepCellResult
        /// Cells of this shard handled so far (skipped or finished) and in all.
        public var done: Int
        public var total: Int
    }

    /// The cells a shard run ran and skipped.
    public struct Summary: Sendable, Equatable {
        public var ran: [Int]
        public var skipped: [Int]
    }

    public let plan: SweepPlan
    public let folder: SweepFolder
    public let shard: SweepShard
    /// Called on every cell of the shard; before a cell starts, `onStart` gets it.
    public var onCell: (Event) -> Void = { _ in }
    public var onStart: (SweepCell, _ done: Int, _ total: Int) -> Void = { _, _, _ in }
    /// Training progress inside a cell (silent by default: the sweep reports per cell).
    public var trainingProgress: ProgressStyle = .silent
    /// The command recorded in each cell's bundle.
    public var command: String

    public init(plan: SweepPlan, folder: String, shard: SweepShard = .whole) {
        (self.plan, self.folder, self.shard) = (plan, SweepFolder(folder), shard)
        command = "intervene sweep \(plan.file) --out \(folder)" + (shard.count > 1 ? " --shard \(shard)" : "")
    }

    /// The cells this shard owns, in order.
    public var ownedCells: [SweepCell] { plan.cells.filter { shard.owns($0.index) } }

    /// Runs the shard's missing cells. The model is built only when a cell needs running.
    @discardableResult
    public func run() throws -> Summary {
        try folder.prepare(for: plan)
        let owned = ownedCells
        let finished = try folder.finishedCells(hash: plan.hash)
        var summary = Summary(ran: [], skipped: [])
        var prepared: ExperimentRunner.PreparedModel?
        var dataCache: [String: (train: [InterventionExample], test: [InterventionExample], description: String)] = [:]
        for (n, cell) in owned.enumerated() {
            if let result = finished[cell.index] {
                summary.skipped.append(cell.index)
                onCell(Event(kind: .skipped, cell: cell, result: result, done: n + 1, total: owned.count))
                continue
            }
            onStart(cell, n, owned.count)
            let experiment = plan.experiment(for: cell, bundle: folder.bundlePath(cell))
            var runner = ExperimentRunner(experiment: experiment, file: plan.file)
            runner.progress = trainingProgress
            if prepared == nil { prepared = try runner.model() }
            runner.preparedModel = prepared
            let key = cell.variable ?? ""
            if dataCache[key] == nil {
                dataCache[key] = try runner.data(classes: InterventionExample.labelClasses(of: prepared!.model),
                                                 tokenizer: experiment.model.tokenizer == nil ? prepared!.tokenizer : nil)
            }
            let data = dataCache[key]!
            runner.preparedData = (try plan.at(position: cell.position, data.train), try plan.at(position: cell.position, data.test), data.description)
            let start = Date()
            var metrics = try runner.run(command: command)
            metrics["train_seconds"] = nil
            let seconds = Date().timeIntervalSince(start)
            let result = SweepCellResult(experimentHash: plan.hash, cellCount: plan.cells.count, cell: cell, metrics: metrics, seconds: seconds)
            try folder.write(result)
            summary.ran.append(cell.index)
            onCell(Event(kind: .finished, cell: cell, result: result, done: n + 1, total: owned.count))
        }
        return summary
    }
}
