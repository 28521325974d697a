import Foundation
import Testing
@testable import CausalAbstraction
import Models
import Tensors

/// `intervene sweep` and `sweep-merge` as separate processes on a tiny sweep (a random
/// hierarchical-equality MLP saved as a checkpoint folder, 128 examples, one epoch, 9 cells):
/// shards from Slurm and Kubernetes variables merge into exactly the unsharded result, a re-run
/// shard runs only its missing cells, and bad input exits 2 naming what is wrong.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: SweepCLI.binary), "needs the intervene binary (swift build)"))
struct SweepCommandLineTests {
    /// A scratch folder with a model checkpoint and the 9-cell sweep experiment (`epochs` epochs).
    func fixture(epochs: Int = 1, train: Int = 128, sweep: String? = nil) throws -> (experiment: String, scratch: String) {
        let scratch = NSTemporaryDirectory() + "sweep-cli-\(UUID().uuidString)"
        let model = MLPClassifier(MLPClassifierConfiguration(width: HierarchicalEqualityTask.inputWidth, layers: 3, classes: 2, activation: .relu))
        model.initializeLikeTorch(seed: 3)
        try CheckpointWriter.save(model, config: model.configuration, to: scratch + "/model", card: "random MLP for sweep tests")
        let experiment = scratch + "/experiment.json"
        let sweepSection = sweep ?? #"{"layers": [0, 1, 2], "low_rank_dimensions": [1, 2], "intervention_types": ["LowRankRotatedSpaceIntervention", "VanillaIntervention"]}"#
        try """
        {"name": "tiny sweep", "seed": 1, "model": {"path": "\(scratch)/model"},
         "data": {"builtin": "hierarchical_equality", "variable": "left_equality", "train": \(train), "test": 128},
         "representations": [{"layer": 0, "component": "block_output", "unit": "pos", "max_number_of_units": 1}],
         "intervention_types": "LowRankRotatedSpaceIntervention",
         "training": {"epochs": \(epochs), "batch_size": 32, "learning_rate": 0.01},
         "output": {"bundle": "\(scratch)/unused"},
         "sweep": \(sweepSection)}
        """.write(toFile: experiment, atomically: true, encoding: .utf8)
        return (experiment, scratch)
    }

    /// Runs the unsharded sweep and returns its merged files.
    func unsharded(_ experiment: String, _ scratch: String) throws -> SweepCLI.Merged {
        let whole = try SweepCLI.run(["sweep", experiment, "--out", scratch + "/whole", "--quiet"])
        #expect(whole.status == 0, "\(whole.error)")
        #expect(try SweepCLI.summary(whole.output).ran == Array(0..<9))
        return try SweepCLI.Merged(scratch + "/whole")
    }

    @Test func slurmArrayShardsMergeToTheUnshardedResult() throws {
        let (experiment, scratch) = try fixture()
        let whole = try unsharded(experiment, scratch)
        // Three array tasks (--array=1-3), separate output folders, running at the same time.
        let runs = try SweepCLI.runConcurrently((1...3).map { id in
            (["sweep", experiment, "--out", scratch + "/shard-\(id)"],
             ["SLURM_ARRAY_TASK_ID": "\(id)", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "3"])
        })
        for (i, run) in runs.enumerated() {
            #expect(run.status == 0, "\(run.error)")
            let summary = try SweepCLI.summary(run.output)
            #expect(summary.ran == Array(stride(from: i, to: 9, by: 3)) && summary.skipped.isEmpty && summary.shard == "\(i)/3")
            #expect(run.error.contains("cell \(i) (1/3)"))  // one plain progress line per cell
        }
        let merge = try SweepCLI.run(["sweep-merge"] + (1...3).map { scratch + "/shard-\($0)" } + ["--out", scratch + "/merged"])
        #expect(merge.status == 0, "\(merge.error)")
        let merged = try SweepCLI.Merged(scratch + "/merged")
        #expect(merged == whole)
        #expect(merged.csv.split(separator: "\n").count == 10)
        #expect(merged.csv.hasPrefix("index,intervention_type,layer,low_rank_dimension,"))
        #expect(merged.svg.contains("<title>cell 4: intervention_type=LowRankRotatedSpaceIntervention layer=2 low_rank_dimension=1; iia "))
    }

    @Test func indexedJobShardsShareOneFolderAndMergeToTheUnshardedResult() throws {
        let (experiment, scratch) = try fixture()
        let whole = try unsharded(experiment, scratch)
        let shared = scratch + "/shared"
        // The count from the environment for two pods, from --shards for the third.
        var commands: [([String], [String: String])] = []
        for index in 0..<3 {
            var environment = ["JOB_COMPLETION_INDEX": "\(index)"]
            var arguments = ["sweep", experiment, "--out", shared]
            if index == 2 { arguments += ["--shards", "3"] } else { environment[SweepShard.countVariable] = "3" }
            commands.append((arguments, environment))
        }
        let runs = try SweepCLI.runConcurrently(commands)
        for (i, run) in runs.enumerated() {
            #expect(run.status == 0, "\(run.error)")
            #expect(try SweepCLI.summary(run.output).ran == Array(stride(from: i, to: 9, by: 3)))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: shared + "/cells").filter { $0.hasSuffix(".json") }.count == 9)
        let merge = try SweepCLI.run(["sweep-merge", shared, "--out", shared])
        #expect(merge.status == 0, "\(merge.error)")
        #expect(try SweepCLI.Merged(shared) == whole)
    }

    @Test func rerunShardRunsOnlyItsMissingCells() throws {
        let (experiment, scratch) = try fixture()
        let out = scratch + "/shard"
        let first = try SweepCLI.run(["sweep", experiment, "--out", out, "--shard", "1/3"])
        #expect(first.status == 0, "\(first.error)")
        #expect(try SweepCLI.summary(first.output).ran == [1, 4, 7])
        // A shard killed before writing cell 4: its file is missing.
        try FileManager.default.removeItem(atPath: out + "/cells/cell-0004.json")
        let again = try SweepCLI.run(["sweep", experiment, "--out", out, "--shard", "1/3"])
        #expect(again.status == 0, "\(again.error)")
        let summary = try SweepCLI.summary(again.output)
        #expect(summary.ran == [4] && summary.skipped == [1, 7])
        #expect(again.error.contains("cell 1 (1/3) intervention_type=LowRankRotatedSpaceIntervention layer=0 low_rank_dimension=2: already finished"))
        #expect(again.error.contains("cell 4 (2/3) intervention_type=LowRankRotatedSpaceIntervention layer=2 low_rank_dimension=1: iia "))
    }

    @Test func killedProcessResumesWhereItStopped() throws {
        let (experiment, scratch) = try fixture(epochs: 4, train: 2048)
        let out = scratch + "/killed"
        let process = try SweepCLI.start(["sweep", experiment, "--out", out, "--quiet"])
        let deadline = Date().addingTimeInterval(120)
        func finished() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: out + "/cells")) ?? []).filter { $0.hasPrefix("cell-") && $0.hasSuffix(".json") }.sorted()
        }
        while finished().count < 2 && process.isRunning && Date() < deadline { usleep(20_000) }
        #expect(process.isRunning, "the sweep ended before it could be killed; make the cells slower")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let done = Set(finished().map { Int($0.dropFirst(5).prefix(4))! })
        #expect(done.count >= 2 && done.count < 9)
        let again = try SweepCLI.run(["sweep", experiment, "--out", out, "--quiet"])
        #expect(again.status == 0, "\(again.error)")
        let summary = try SweepCLI.summary(again.output)
        #expect(Set(summary.skipped) == done && Set(summary.ran) == Set(0..<9).subtracting(done))
        #expect(FileManager.default.fileExists(atPath: out + "/heatmap.svg"))
    }

    @Test func badShardsSweepsAndMergesExitTwo() throws {
        let (experiment, scratch) = try fixture()
        for (arguments, environment, expected) in [
            (["--shard", "3/3"], [:], "--shard: shard 3/3"), (["--shard", "x"], [:], "--shard: shard \"x\""),
            (["--shard", "-1/2"], [:], "shard -1/2"), (["--shard", "1/0"], [:], "shard 1/0"),
            (["--shard", "0/2", "--shards", "2"], [:], "--shards"), (["--shards", "0"], [:], "--shards: shard 0"),
            ([], ["SLURM_ARRAY_TASK_ID": "abc", "SLURM_ARRAY_TASK_COUNT": "3"], "SLURM_ARRAY_TASK_ID: shard \"abc\""),
            ([], ["SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_COUNT": "3"], "SLURM_ARRAY_TASK_ID: shard 5/3"),
            ([], ["JOB_COMPLETION_INDEX": "1"], "JOB_COMPLETION_INDEX gives the shard index but nothing gives the shard count"),
        ] as [([String], [String: String], String)] {
            let run = try SweepCLI.run(["sweep", experiment, "--out", scratch + "/never"] + arguments, environment: environment)
            #expect(run.status == 2 && run.error.contains(expected), "\(arguments) \(environment): \(run.status) \(run.error)")
        }
        for (sweep, expected) in [
            (#"{"layrs": [0]}"#, "unknown key 'layrs' at sweep.layrs"), (#"{}"#, "field 'sweep'"),
            (#"{"layers": []}"#, "field 'sweep.layers' has value []"), (#"{"layers": [0, 0]}"#, "field 'sweep.layers[1]'"),
            (#"{"layers": [1.5]}"#, "field 'sweep.layers[0]' has value 1.5"),
            (#"{"low_rank_dimensions": [0]}"#, "field 'sweep.low_rank_dimensions[0]' has value 0"),
            (#"{"intervention_types": ["Nonsense"]}"#, "field 'sweep.intervention_types[0]'"),
            (#"{"low_rank_dimensions": [2], "intervention_types": ["VanillaIntervention"]}"#, "field 'sweep.low_rank_dimensions'"),
            (#"{"layers": [0], "rows": "position"}"#, "field 'sweep.rows'"),
            (#"{"variables": [{"name": "mine", "train": "a.jsonl"}]}"#, "field 'sweep.variables[0]'"),
        ] {
            let (bad, _) = try fixture(sweep: sweep)
            let run = try SweepCLI.run(["sweep", bad, "--out", scratch + "/never"])
            #expect(run.status == 2 && run.error.contains(expected), "\(sweep): \(run.status) \(run.error)")
        }
        #expect(!FileManager.default.fileExists(atPath: scratch + "/never"))
        let plain = try SweepCLI.run(["sweep", "Experiments/hierarchical-equality-das.json", "--out", scratch + "/never"])
        #expect(plain.status == 2 && plain.error.contains("field 'sweep' has value missing"))
        // Merging: a missing shard, another experiment, a folder that is no sweep.
        let one = try SweepCLI.run(["sweep", experiment, "--out", scratch + "/s0", "--shard", "0/3", "--quiet"])
        #expect(one.status == 0, "\(one.error)")
        let missing = try SweepCLI.run(["sweep-merge", scratch + "/s0", "--out", scratch + "/m"])
        #expect(missing.status == 2 && missing.error.contains("6 of 9 cells have no result") && missing.error.contains("cells 1, 2, 4, 5, 7, 8"))
        let (other, _) = try fixture(sweep: #"{"layers": [0, 1, 2], "low_rank_dimensions": [1, 2, 4], "intervention_types": ["LowRankRotatedSpaceIntervention"]}"#)
        let otherRun = try SweepCLI.run(["sweep", other, "--out", scratch + "/o1", "--shard", "1/3", "--quiet"])
        #expect(otherRun.status == 0, "\(otherRun.error)")
        let mismatch = try SweepCLI.run(["sweep-merge", scratch + "/s0", scratch + "/o1", "--out", scratch + "/m"])
        #expect(mismatch.status == 2 && mismatch.error.contains("holds results of a different experiment"))
        let reuse = try SweepCLI.run(["sweep", other, "--out", scratch + "/s0", "--shard", "0/3"])
        #expect(reuse.status == 2 && reuse.error.contains("holds results of a different experiment"))
        let notSweep = try SweepCLI.run(["sweep-merge", scratch, "--out", scratch + "/m"])
        #expect(notSweep.status == 2 && notSweep.error.contains("not a sweep output folder"))
        #expect(!FileManager.default.fileExists(atPath: scratch + "/m"))
    }
}

/// Running `intervene` as a child process with a chosen environment.
enum SweepCLI {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let binary = root + "/.build/debug/intervene"

    /// The environment of a child: this process's without any shard variables, plus `extra`.
    static func environment(_ extra: [String: String]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        for key in ["SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_COUNT", "JOB_COMPLETION_INDEX", SweepShard.countVariable] {
            env[key] = nil
        }
        return env.merging(extra) { $1 }
    }

    /// Starts `intervene`; standard output and error go to the files given (or nowhere). Files
    /// rather than pipes: reading a pipe while children exit can fail with EINTR in Foundation.
    static func start(_ arguments: [String], environment extra: [String: String] = [:], output: String? = nil, error: String? = nil) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.environment = environment(extra)
        process.currentDirectoryURL = URL(fileURLWithPath: root)
        func sink(_ path: String?) -> FileHandle {
            guard let path, FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
                return FileHandle.nullDevice
            }
            return handle
        }
        process.standardOutput = sink(output)
        process.standardError = sink(error)
        try process.run()
        return process
    }

    typealias Outcome = (status: Int32, output: String, error: String)

    static func run(_ arguments: [String], environment extra: [String: String] = [:]) throws -> Outcome {
        try runConcurrently([(arguments, extra)])[0]
    }

    /// Starts every command at once, then waits for all of them.
    static func runConcurrently(_ commands: [([String], [String: String])]) throws -> [Outcome] {
        let started = try commands.map { arguments, extra -> (Process, String, String) in
            let base = NSTemporaryDirectory() + "sweep-cli-\(UUID().uuidString)"
            return (try start(arguments, environment: extra, output: base + ".out", error: base + ".err"), base + ".out", base + ".err")
        }
        return started.map { process, output, error in
            process.waitUntilExit()
            func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
            defer { for path in [output, error] { try? FileManager.default.removeItem(atPath: path) } }
            return (process.terminationStatus, read(output), read(error))
        }
    }

    struct Summary: Decodable { var ran: [Int]; var skipped: [Int]; var shard: String }

    static func summary(_ output: String) throws -> Summary {
        try JSONDecoder().decode(Summary.self, from: Data(output.utf8))
    }

    /// A folder's merged files; results.json with every "seconds" field removed (timing differs
    /// between runs, every other byte must not).
    struct Merged: Equatable {
        var csv: String, svg: String, json: String

        init(_ folder: String) throws {
            csv = try String(contentsOfFile: folder + "/results.csv", encoding: .utf8)
            svg = try String(contentsOfFile: folder + "/heatmap.svg", encoding: .utf8)
            json = try String(contentsOfFile: folder + "/results.json", encoding: .utf8).split(separator: "\n")
                .filter { !$0.contains("\"seconds\"") }.joined(separator: "\n")
        }
    }
}
