import CausalAbstraction
import Foundation
import InterveneServer
import Tensors

/// A sweep folder of 4 cells (layer 0, 1 × low_rank_dimension 1, 2) of which cells 0, 1 and 2
/// finished (iia 0.5, 0.75, 0.9375) and cell 3 did not; cell 1 saved a bundle.
func makeSweepFolder() throws -> String {
    let path = temporaryPath("sweep")
    try FileManager.default.createDirectory(atPath: path + "/cells", withIntermediateDirectories: true)
    try #"""
    {"cells": [{"index": 0, "layer": 0, "low_rank_dimension": 1}, {"index": 1, "layer": 0, "low_rank_dimension": 2},
               {"index": 2, "layer": 1, "low_rank_dimension": 1}, {"index": 3, "layer": 1, "low_rank_dimension": 2}],
     "columns": "low_rank_dimension", "experiment_hash": "fnv1a64:00000000000000aa", "experiment_name": "tiny <sweep>",
     "metric": "iia", "rows": "layer"}
    """#.write(toFile: path + "/sweep.json", atomically: true, encoding: .utf8)
    let manifest = try SweepFolder(path).readManifest()
    let folder = SweepFolder(path)
    for (k, iia) in [0.5, 0.75, 0.9375].enumerated() {
        try folder.write(SweepCellResult(experimentHash: manifest.experimentHash, cellCount: 4, cell: manifest.cells[k],
                                         metrics: ["iia": iia, "steps": 10], seconds: 0.25))
    }
    try makeBundle(at: folder.bundlePath(manifest.cells[1]))
    return path
}

/// An intervention bundle folder: one LowRankRotatedSpaceIntervention at layer 0 with a 4 × 2
/// rotation, metric iia = 0.75, and a card holding markup that must be escaped.
func makeBundle(at path: String) throws {
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    try #"""
    {"format": "intervene-bundle", "version": 1,
     "model": {"model_type": "mlp", "fingerprint": "intervene-fp1:00000000000000bb", "source": "builtin:test"},
     "config": {"intervention_types": "LowRankRotatedSpaceIntervention", "mode": "parallel",
                "representations": [{"component": "block_output", "layer": 0, "low_rank_dimension": 2, "unit": "pos"}]},
     "interventions": [{"key": "layer_0_comp_block_output#0", "type": "LowRankRotatedSpaceIntervention",
                        "hyperparameters": {"embed_dim": 4, "low_rank_dimension": 2},
                        "tensors": ["layer_0_comp_block_output#0.rotate_layer.weight"]}],
     "metrics": {"iia": 0.75, "steps": 10},
     "provenance": {"command": "intervene sweep tiny.json --out sweep", "seed": 0, "data": "builtin"}}
    """#.write(toFile: path + "/bundle.json", atomically: true, encoding: .utf8)
    try SafeTensorsWriter.write(["layer_0_comp_block_output#0.rotate_layer.weight": .float(Tensor(shape: [4, 2], values: [1, 0, 0, 1, 0, 0, 0, 0]))],
                                to: path + "/weights.safetensors")
    try "# tiny bundle\n\n<script>alert(1)</script> & more\n".write(toFile: path + "/README.md", atomically: true, encoding: .utf8)
}

/// A causal trace folder: tokens " The", " <cat>", " sat"; metric p(" sat"), clean 0.9,
/// corrupted 0.2; one block_output grid of 2 layers; the largest effect +0.4 at layer 1, position 1.
func makeTraceFolder() throws -> String {
    let path = temporaryPath("trace")
    let trace = try CausalTrace.decode(Data(#"""
    {"format": "intervene-trace", "version": 1, "kind": "causal_tracing", "tokens": [" The", " <cat>", " sat"],
     "metric": "p(\" sat\")", "clean": 0.9, "corrupted": 0.2, "corrupted_positions": [0, 1], "noise_std": 0.5,
     "samples": 3, "seed": 1, "seconds": 0.5,
     "grids": [{"component": "block_output", "window": 1, "values": [[0.3, 0.5, 0.2], [0.25, 0.6, 0.2]],
                "effects": [[0.1, 0.3, 0.0], [0.05, 0.4, 0.0]]}]}
    """#.utf8))
    try trace.write(to: path, title: "causal trace of p(\" sat\")")
    return path
}

/// An attribution folder (attribute --out): three nodes, the head's −0.5 the largest in size.
func makeAttributionFolder() throws -> String {
    let path = temporaryPath("attribution")
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    try #"""
    {"format": "intervene-attribution", "version": 1, "kind": "attribution", "prompt": "The cat sat", "tokens": ["The", " <cat>", " sat"],
     "target": " on", "distractor": " in", "metric": "logit(\" on\") − logit(\" in\")", "metric_value": 1.25, "method": "atp",
     "baseline": "zero", "seconds": 0.1,
     "nodes": [{"kind": "neuron", "layer": 1, "index": 7, "position": 2, "token": " sat", "attribution": 0.25},
               {"kind": "head", "layer": 0, "index": 1, "position": 1, "token": " <cat>", "attribution": -0.5},
               {"kind": "latent", "layer": 1, "index": 3, "position": 0, "token": "The", "attribution": 0.125, "key": "sae0"}],
     "direct_logit_attribution": {"parts": [{"kind": "embed", "layer": 0, "index": -1, "value": 0.5}, {"kind": "mlp", "layer": 1, "index": -1, "value": 0.75}],
                                  "latents": [], "sum": 1.25, "bias_term": 0, "readout": 1.25}}
    """#.write(toFile: path + "/attribution.json", atomically: true, encoding: .utf8)
    return path
}

/// The four experiment folders served together: 0 sweep, 1 trace, 2 attribution, 3 bundle (cell 1's, served directly).
struct ExperimentFixture {
    let sweepPath: String, tracePath: String, attributionPath: String
    var bundlePath: String { sweepPath + "/bundles/cell-0001" }
    let caches: [ServedCache]

    init() throws {
        sweepPath = try makeSweepFolder()
        tracePath = try makeTraceFolder()
        attributionPath = try makeAttributionFolder()
        caches = try [sweepPath, tracePath, attributionPath, sweepPath + "/bundles/cell-0001"].map { try ServedCache.load($0) }
    }

    func cleanUp() {
        for p in [sweepPath, tracePath, attributionPath] { try? FileManager.default.removeItem(atPath: p) }
    }
}
