import ArgumentParser
import CausalAbstraction
import Foundation
import Testing
import Features
@testable import InterveneCLI
import Models
import Tensors

/// `intervene attribute`, parsed and run in-process on a tiny GPT-2 with the golden tokenizer.
@Suite struct AttributeCommandTests {
    let prompt = "The capital of Spain is", source = "The capital of Spain of"

    @Test func writesTheReportTheGridsAndTheSVGs() throws {
        let folder = try tinyModelFolder(), sae = temporaryPath("sae"), json = temporaryPath("attribute") + ".json", svg = temporaryPath("svg")
        let out = temporaryPath("attribution-out")
        defer { for p in [folder, sae, json, svg, out] { try? FileManager.default.removeItem(atPath: p) } }
        try SAELensFormat.save(try SparseAutoencoder(width: 16, latents: 8, activation: .relu, seed: 5), to: sae)
        let report = try AttributeCommand.parse([
            "--model", folder, "--prompt", prompt, "--source", source, "--target", " is", "--distractor", " of", "--top", "7",
            "--sae", "1:block_output=" + sae, "--json", json, "--svg-dir", svg, "--out", out,
        ]).execute()
        let written = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any])
        #expect(Set(written.keys) == Set(report.keys))
        let nodes = try #require(written["nodes"] as? [String: Any]), top = try #require(nodes["top"] as? [[String: Any]])
        #expect(top.count == 7 && nodes["method"] as? String == "ig-input(8)" && nodes["baseline"] as? String == "source")
        let dla = try #require(written["direct_logit_attribution"] as? [String: Any])
        let metric = try #require(nodes["metric_value"] as? Double), sum = try #require(dla["sum"] as? Double), bias = try #require(dla["bias_term"] as? Double)
        #expect(abs(sum + bias - metric) < 1e-3 * max(1, abs(metric)))
        let patching = try #require(written["patching"] as? [String: Any])
        let grid = try #require(patching["patching"] as? [[Double]]), estimate = try #require(patching["attribution"] as? [[Double]])
        #expect(grid.count == 2 && grid[0].count == 11 && estimate.count == 2 && (patching["correlation"] as? Double ?? -2) > 0.9)
        for name in ["patching.svg", "attribution.svg"] {
            let text = try String(contentsOfFile: svg + "/" + name, encoding: .utf8)
            #expect(text.hasPrefix("<svg") && text.contains("L1") && text.hasSuffix("</svg>"))
        }
        // --out: attribution.json with the same nodes and grids, and the two SVGs beside it.
        let file = try AttributionFile.read(out + "/" + AttributionFile.fileName)
        #expect(file.kind == "attribution" && file.format == "intervene-attribution" && file.nodes.count == 7 && file.method == "ig-input(8)")
        // (Compared with the report in memory: JSONSerialization rounds doubles when it writes --json.)
        let memoryNodes = try #require(report["nodes"] as? [String: Any]), memoryTop = try #require(memoryNodes["top"] as? [[String: Any]])
        let memoryGrids = try #require(report["patching"] as? [String: Any])
        #expect(file.nodes.map(\.attribution) == memoryTop.compactMap { $0["attribution"] as? Double })
        #expect(file.nodes.map(\.kind) == memoryTop.compactMap { $0["kind"] as? String } && file.nodes.map(\.position) == memoryTop.compactMap { $0["position"] as? Int })
        #expect(file.patching?.patching == memoryGrids["patching"] as? [[Double]] && file.patching?.attribution == memoryGrids["attribution"] as? [[Double]])
        #expect(file.metricValue == memoryNodes["metric_value"] as? Double && file.baseline == "source" && file.patching?.component == "block_output")
        #expect(abs((file.directLogitAttribution?.sum ?? .nan) - sum) < 1e-6 * max(1, abs(sum)) && file.tokens.count == 11 && file.source == source)
        #expect(FileManager.default.fileExists(atPath: out + "/patching.svg") && FileManager.default.fileExists(atPath: out + "/attribution.svg"))
        // Without a source: activation × gradient and DLA only.
        let plain = try AttributeCommand.parse(["--model", folder, "--prompt", prompt, "--target", " is", "--metric", "loss", "--method", "atp"]).execute()
        #expect(plain["patching"] == nil && (plain["nodes"] as? [String: Any])?["baseline"] as? String == "zero")
    }

    /// Bad arguments are typed errors naming the flag, and exit code 2 from `run`; malformed
    /// command lines are refused while parsing.
    @Test func badArgumentsAreTypedErrors() throws {
        let folder = try tinyModelFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let cases: [([String], String)] = [
            (["--target", " Madrid", "--distractor", " of"], "--target"),
            (["--target", " is", "--distractor", " Madrid"], "--distractor"),
            (["--target", " is"], "--distractor"),
            (["--target", " is", "--distractor", " of", "--source", "The capital of Italy is"], "as many tokens as the prompt"),
            (["--target", " is", "--distractor", " of", "--source", "The capital of Spain of", "--component", "head_result"], "component"),
            (["--target", " is", "--distractor", " of", "--source", "The capital of Spain of", "--component", "nowhere"], "nowhere"),
            (["--target", " is", "--distractor", " of", "--sae", "1:block_output"], "SITE=FOLDER"),
            (["--target", " is", "--distractor", " of", "--sae", "9:block_output=/no/such/sae"], "layer 9"),
            (["--target", " is", "--distractor", " of", "--sae", "1:block_output=/no/such/sae"], "/no/such/sae"),
            (["--target", " is", "--metric", "loss", "--distractor", " of"], "--distractor"),
        ]
        for (extra, message) in cases {
            let command = try AttributeCommand.parse(["--model", folder, "--prompt", prompt] + extra)
            expectRefused(command, extra, message: message) { _ = try command.execute() }
        }
        for malformed in [["--steps", "0"], ["--path", "diagonal"], ["--method", "exact"], ["--top", "0"], ["--metric", "prob"],
                          ["--svg-dir", "out"], ["--steps", "many"]] {
            #expect(throws: (any Error).self) {
                try AttributeCommand.parse(["--model", folder, "--prompt", prompt, "--target", " is", "--distractor", " of"] + malformed)
            }
        }
    }
}
