import Foundation

/// Which cells one process of a sweep runs: shard `index` of `count` runs the cells whose index
/// is `index` modulo `count` (so every cell belongs to exactly one shard, whatever the order
/// shards run in).
public struct SweepShard: Equatable, Sendable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    /// The whole sweep in one process.
    public static let whole = SweepShard(uncheckedIndex: 0, count: 1)

    init(uncheckedIndex index: Int, count: Int) { (self.index, self.count) = (index, count) }

    /// Shard `index` of `count`; throws `SweepError.invalidShard` unless 0 ≤ index < count.
    public init(index: Int, count: Int, source: String = "--shard") throws {
        guard count >= 1 else { throw SweepError.invalidShard(source: source, value: "\(index)/\(count)", allowed: "a shard count of at least 1") }
        guard index >= 0 && index < count else {
            throw SweepError.invalidShard(source: source, value: "\(index)/\(count)", allowed: "an index in 0..<\(count) (0-based)")
        }
        self.init(uncheckedIndex: index, count: count)
    }

    /// Parses "i/N" (e.g. "0/3"); anything else throws `SweepError.invalidShard`.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else {
            throw SweepError.invalidShard(source: "--shard", value: "\"\(text)\"", allowed: "INDEX/COUNT with 0 ≤ INDEX < COUNT, e.g. 0/3")
        }
        try self.init(index: i, count: n)
    }

    public var description: String { "\(index)/\(count)" }

    /// True when this shard runs cell `cellIndex`.
    public func owns(_ cellIndex: Int) -> Bool { cellIndex % count == index }

    /// The environment variable naming the shard count of a Kubernetes Indexed Job (set it to
    /// the Job's `completions`), read when `JOB_COMPLETION_INDEX` is set and no count is given.
    public static let countVariable = "INTERVENE_SWEEP_SHARDS"

    /// The shard of this process: `option` ("i/N") when given; else Slurm's
    /// `SLURM_ARRAY_TASK_ID` (minus `SLURM_ARRAY_TASK_MIN`, so `--array=1-3` works) of
    /// `SLURM_ARRAY_TASK_COUNT`; else Kubernetes' `JOB_COMPLETION_INDEX` of `shards` (else
    /// `INTERVENE_SWEEP_SHARDS`); else the whole sweep. `shards` overrides the count read from
    /// Slurm. Malformed values throw `SweepError.invalidShard` naming their variable.
    public static func resolve(option: String?, shards: Int?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> SweepShard {
        if let option {
            if shards != nil { throw SweepError.invalidShard(source: "--shards", value: "\(shards!)", allowed: "no --shards together with --shard i/N (it names the count)") }
            return try SweepShard(parsing: option)
        }
        if let shards, shards < 1 { throw SweepError.invalidShard(source: "--shards", value: "\(shards)", allowed: "a shard count of at least 1") }
        func integer(_ name: String) throws -> Int? {
            guard let text = environment[name] else { return nil }
            guard let value = Int(text.trimmingCharacters(in: .whitespaces)) else {
                throw SweepError.invalidShard(source: name, value: "\"\(text)\"", allowed: "an integer")
            }
            return value
        }
        if let id = try integer("SLURM_ARRAY_TASK_ID") {
            let minimum = try integer("SLURM_ARRAY_TASK_MIN") ?? 0
            guard let count = try shards ?? integer("SLURM_ARRAY_TASK_COUNT") else {
                throw SweepError.missingShardCount(indexSource: "SLURM_ARRAY_TASK_ID", allowed: "SLURM_ARRAY_TASK_COUNT (Slurm sets it for job arrays) or --shards N")
            }
            return try SweepShard(index: id - minimum, count: count, source: "SLURM_ARRAY_TASK_ID")
        }
        if let index = try integer("JOB_COMPLETION_INDEX") {
            guard let count = try shards ?? integer(countVariable) else {
                throw SweepError.missingShardCount(indexSource: "JOB_COMPLETION_INDEX", allowed: "--shards N or \(countVariable)=N (the Indexed Job's completions)")
            }
            return try SweepShard(index: index, count: count, source: "JOB_COMPLETION_INDEX")
        }
        return try SweepShard(index: 0, count: shards ?? 1, source: "--shards")
    }
}

/// A sweep that cannot run or merge as asked (exit code 2 in the CLI).
public enum SweepError: Error, CustomStringConvertible, Equatable {
    /// A shard index or count (from `source`: --shard, --shards or an environment variable) that is not one.
    case invalidShard(source: String, value: String, allowed: String)
    /// A shard index from `indexSource` without a shard count.
    case missingShardCount(indexSource: String, allowed: String)
    /// A folder holding results of a different experiment (its hash differs).
    case experimentMismatch(folder: String, expected: String, found: String)
    /// A folder that holds no sweep results (no sweep.json).
    case notASweepFolder(folder: String)
    /// A cell result that cannot be read.
    case unreadableCell(file: String, reason: String)
    /// Cells with no result in any of the folders merged.
    case missingCells(indices: [Int], of: Int, folders: [String])

    public var description: String {
        switch self {
        case .invalidShard(let source, let value, let allowed):
            return "\(source): shard \(value) is not valid; expected \(allowed)"
        case .missingShardCount(let indexSource, let allowed):
            return "\(indexSource) gives the shard index but nothing gives the shard count; set \(allowed)"
        case .experimentMismatch(let folder, let expected, let found):
            return "\(folder): holds results of a different experiment (hash \(found), expected \(expected)); use a fresh --out folder or the same experiment file"
        case .notASweepFolder(let folder):
            return "\(folder): not a sweep output folder (no sweep.json); give folders written by `intervene sweep`"
        case .unreadableCell(let file, let reason):
            return "\(file): not a readable cell result (\(reason)); delete it and re-run its shard"
        case .missingCells(let indices, let count, let folders):
            let shown = indices.prefix(20).map(String.init).joined(separator: ", ") + (indices.count > 20 ? ", …" : "")
            return "\(indices.count) of \(count) cells have no result in \(folders.joined(separator: ", ")): cells \(shown); run (or re-run) their shards first"
        }
    }
}
