import Foundation
import Testing
@testable import CausalAbstraction
import Intervene
import Models
import Tensors

/// Sweep plans, shards and merged results in-process: cell order, which cells each shard owns,
/// where the shard comes from, the experiment hash, the CSV and the heatmap.
@Suite struct SweepTests {
    func plan(_ sweep: String, type: String = "LowRankRotatedSpaceIntervention", extra: String = "") throws -> SweepPlan {
        let text = """
        {"name": "t", "model": {"builtin": "hierarchical_equality_mlp"}, "data": {"builtin": "hierarchical_equality", "train": 10, "test": 10},
         "representations": [{"layer": 0, "component": "block_output"}], "intervention_types": "\(type)",
         "output": {"bundle": "b"}\(extra), "sweep": \(sweep)}
        """
        let path = NSTemporaryDirectory() + "sweep-\(UUID().uuidString).json"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return try SweepPlan.load(path: path)
    }

    @Test func cellsAreTheProductInAFixedOrderAndRanksOnlyMultiplyTypesThatReadThem() throws {
        let p = try plan(#"{"layers": [0, 2], "low_rank_dimensions": [1, 4], "intervention_types": ["LowRankRotatedSpaceIntervention", "vanilla"], "variables": ["left_equality", "right_equality"]}"#)
        #expect(p.cells.count == 2 * (2 * 2 + 2))
        #expect(p.cells.map(\.index) == Array(0..<12))
        #expect(p.cells[0] == SweepCell(index: 0, variable: "left_equality", interventionType: "LowRankRotatedSpaceIntervention", layer: 0, lowRankDimension: 1))
        #expect(p.cells[3] == SweepCell(index: 3, variable: "left_equality", interventionType: "LowRankRotatedSpaceIntervention", layer: 2, lowRankDimension: 4))
        #expect(p.cells[5] == SweepCell(index: 5, variable: "left_equality", interventionType: "VanillaIntervention", layer: 2))
        #expect(p.cells[6].variable == "right_equality" && p.cells[6].name == "cell-0006")
        let e = p.experiment(for: p.cells[9], bundle: "out/bundles/cell-0009")
        #expect(e.representations[0].layer == 2 && e.representations[0].lowRankDimension == 4)
        #expect(e.interventionTypes == "LowRankRotatedSpaceIntervention" && e.representations[0].interventionType == .lowRankRotatedSpace)
        #expect(e.data.variable == "right_equality" && e.output.bundle == "out/bundles/cell-0009" && e.output.metrics == nil && e.sweep == nil)
        let moved = try p.at(position: -1, [InterventionExample(base: .tokens([1, 2]), source: .tokens([3, 4, 5]), basePositions: [0], label: 0)])
        #expect(moved[0].basePositions == [1] && moved[0].sourcePositions == [2])
        #expect(throws: ExperimentError.invalid(file: p.file, field: "sweep.positions", value: "2", expected: "positions inside every example (example 0's base has 2)")) {
            try p.at(position: 2, [InterventionExample(base: .tokens([1, 2]), source: .tokens([3, 4, 5]), basePositions: [0], label: 0)])
        }
    }

    @Test func shardsPartitionTheCellsByIndexModuloCount() throws {
        let owners = try (0..<3).map { i in try SweepShard(index: i, count: 3) }
        for cell in 0..<10 { #expect(owners.filter { $0.owns(cell) }.map(\.index) == [cell % 3]) }
        #expect(try SweepShard(parsing: "2/5") == SweepShard(index: 2, count: 5))
        for bad in ["5/5", "-1/3", "1/0", "1", "a/b", "1/2/3", ""] {
            #expect(throws: SweepError.self) { try SweepShard(parsing: bad) }
        }
    }

    @Test func shardComesFromTheOptionSlurmOrKubernetes() throws {
        #expect(try SweepShard.resolve(option: nil, shards: nil, environment: [:]) == .whole)
        #expect(try SweepShard.resolve(option: "1/4", shards: nil, environment: ["SLURM_ARRAY_TASK_ID": "3"]) == SweepShard(index: 1, count: 4))
        #expect(try SweepShard.resolve(option: nil, shards: nil, environment: ["SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "3"])
                == SweepShard(index: 2, count: 3))
        #expect(try SweepShard.resolve(option: nil, shards: nil, environment: ["SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "3"])
                == SweepShard(index: 2, count: 3))
        #expect(try SweepShard.resolve(option: nil, shards: 4, environment: ["JOB_COMPLETION_INDEX": "3"]) == SweepShard(index: 3, count: 4))
        #expect(try SweepShard.resolve(option: nil, shards: nil, environment: ["JOB_COMPLETION_INDEX": "0", "INTERVENE_SWEEP_SHARDS": "2"])
                == SweepShard(index: 0, count: 2))
        #expect(throws: SweepError.missingShardCount(indexSource: "JOB_COMPLETION_INDEX",
                                                     allowed: "--shards N or INTERVENE_SWEEP_SHARDS=N (the Indexed Job's completions)")) {
            try SweepShard.resolve(option: nil, shards: nil, environment: ["JOB_COMPLETION_INDEX": "0"])
        }
        #expect(throws: SweepError.invalidShard(source: "SLURM_ARRAY_TASK_ID", value: "3/3", allowed: "an index in 0..<3 (0-based)")) {
            try SweepShard.resolve(option: nil, shards: nil, environment: ["SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "3"])
        }
    }

    @Test func hashIgnoresOutputAndKeyOrderButNotTheSweep() throws {
        let a = try JSONValue.parse(#"{"name": "x", "seed": 1, "output": {"bundle": "a"}, "sweep": {"layers": [0, 1]}}"#)
        let b = try JSONValue.parse(#"{"sweep": {"layers": [0, 1]}, "seed": 1, "name": "x", "output": {"bundle": "elsewhere"}}"#)
        let c = try JSONValue.parse(#"{"name": "x", "seed": 1, "output": {"bundle": "a"}, "sweep": {"layers": [0, 2]}}"#)
        #expect(SweepPlan.hash(of: a) == SweepPlan.hash(of: b))
        #expect(SweepPlan.hash(of: a) != SweepPlan.hash(of: c))
        #expect(SweepPlan.hash(of: a).hasPrefix("fnv1a64:") && SweepPlan.hash(of: a).count == 8 + 16)
    }

    @Test func heatmapAxesDefaultToLayerByTheNextSweptAxis() throws {
        #expect(try plan(#"{"layers": [0, 1], "low_rank_dimensions": [1, 2]}"#).spec.heatmapAxes == (.layer, .lowRankDimension))
        #expect(try plan(#"{"layers": [0, 1], "positions": [0, -1]}"#).spec.heatmapAxes == (.layer, .position))
        #expect(try plan(#"{"low_rank_dimensions": [1, 2]}"#).spec.heatmapAxes == (.lowRankDimension, nil))
        #expect(try plan(#"{"layers": [0, 1], "variables": ["left_equality"], "rows": "variable", "columns": "layer"}"#).spec.heatmapAxes == (.variable, .layer))
    }

    @Test func positionsReplaceEveryExamplesPositionsInProcess() throws {
        let scratch = NSTemporaryDirectory() + "sweep-positions-\(UUID().uuidString)"
        let model = MLPClassifier(MLPClassifierConfiguration(width: HierarchicalEqualityTask.inputWidth, layers: 3, classes: 2, activation: .relu))
        model.initializeLikeTorch(seed: 5)
        try CheckpointWriter.save(model, config: model.configuration, to: scratch + "/model", card: "random MLP")
        let p = try plan(#"{"positions": [0, -1, 1], "layers": [1]}"#, type: "VanillaIntervention")
        var e = p.experiment
        (e.model.builtin, e.model.path, e.training.epochs) = (nil, scratch + "/model", 1)
        let plan = try SweepPlan(experiment: e, file: p.file, hash: p.hash)
        var events: [String] = []
        var runner = SweepRunner(plan: plan, folder: scratch + "/out", shard: try SweepShard(index: 0, count: 1))
        runner.onCell = { events.append("\($0.cell.index):\($0.kind)") }
        // Position 1 is outside the MLP's single-position input: that cell fails with a typed
        // error after the two valid positions are written.
        #expect(throws: ExperimentError.self) { try runner.run() }
        let done = try SweepFolder(scratch + "/out").finishedCells(hash: plan.hash)
        #expect(events == ["0:finished", "1:finished"] && done.keys.sorted() == [0, 1])
        // -1 resolves to the same (only) position as 0, so the two cells train identically.
        #expect(done[0]!.metrics["iia"] == done[1]!.metrics["iia"] && done[1]!.cell.position == -1)
    }

    @Test func mergedResultsWriteCSVJSONAndAHeatmapWithHoverTitles() throws {
        let p = try plan(#"{"layers": [0, 1], "low_rank_dimensions": [1, 2], "intervention_types": ["LowRankRotatedSpaceIntervention", "VanillaIntervention"]}"#)
        let results = SweepResults(manifest: SweepManifest(p), results: p.cells.map { cell in
            SweepCellResult(experimentHash: p.hash, cellCount: p.cells.count, cell: cell, metrics: ["iia": 0.5 + Double(cell.index) / 10, "steps": 3], seconds: 1)
        })
        #expect(results.axes == [.interventionType, .layer, .lowRankDimension])
        let csv = results.csv().split(separator: "\n")
        #expect(csv[0] == "index,intervention_type,layer,low_rank_dimension,iia,steps")
        #expect(csv[5] == "4,VanillaIntervention,0,,0.9,3.0")
        #expect(results.best?.cell.index == 5)
        let json = try JSONValue.parse(results.json())
        #expect(json["cell_count"]?.intValue == 6 && json["best"]?["index"]?.intValue == 5)
        #expect(json["axes"]?["low_rank_dimension"] == .array([.string("1"), .string("2")]))
        let svg = SweepHeatmap.svg(results)
        #expect(svg.components(separatedBy: "<title>cell ").count - 1 == 6)
        #expect(svg.contains("<title>cell 3: intervention_type=LowRankRotatedSpaceIntervention layer=1 low_rank_dimension=2; iia 0.8000</title>"))
        #expect(svg.contains(">intervention_type=VanillaIntervention</text>") && svg.contains(">n/a</text>"))
    }
}
