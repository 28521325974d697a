import ArgumentParser
import CausalAbstraction
import Foundation
import InterveneTestSupport
import Testing
@testable import InterveneCLI
import Models

/// `intervene trace` and `intervene patch` on a tiny GPT-2 with the golden tokenizer.
@Suite struct TraceCommandTests {
    let prompt = "The capital of Spain is"

    @Test func traceWritesTheGridsAndHeatmaps() throws {
        let folder = try tinyModelFolder(), out = temporaryPath("trace")
        defer { for p in [folder, out] { try? FileManager.default.removeItem(atPath: p) } }
        let trace = try TraceCommand.parse(["--model", folder, "--prompt", prompt, "--subject", "Spain", "--answer", " is",
                                            "--window", "2", "--samples", "3", "--out", out]).execute()
        #expect(trace.kind == "causal_tracing" && trace.samples == 3 && trace.grids.count == 3)
        #expect(trace.grids.map(\.window) == [1, 2, 2] && trace.grids.allSatisfy { $0.values.count == 2 && $0.values[0].count == trace.tokens.count })
        #expect(trace.corruptedPositions.count >= 1 && abs(trace.clean - trace.corrupted) > 0)
        // Restoring the last block's output at the last token is the clean run.
        #expect(abs(trace.grids[0].values[1][trace.tokens.count - 1] - trace.clean) < 1e-5)
        let written = try CausalTrace.decode(Data(contentsOf: URL(fileURLWithPath: out + "/trace.json")))
        #expect(written.grids == trace.grids && written.tokens == trace.tokens)
        for name in ["block_output.svg", "attention_output_w2.svg", "mlp_output_w2.svg"] {
            let svg = try String(contentsOfFile: out + "/" + name, encoding: .utf8)
            #expect(svg.hasPrefix("<svg") && svg.contains("<title>layer 1, position") && svg.hasSuffix("</svg>"))
        }
        // A token range names the same subject.
        let spain = try #require(trace.corruptedPositions.first)
        let again = try TraceCommand.parse(["--model", folder, "--prompt", prompt, "--subject-tokens", "\(spain):\(spain + trace.corruptedPositions.count)",
                                            "--answer", " is", "--component", "mlp_output", "--window", "1", "--samples", "3", "--out", out]).execute()
        #expect(again.grids.count == 1 && again.grids[0].component == "mlp_output" && again.grids[0].window == 1 && again.corruptedPositions == trace.corruptedPositions)
        #expect(abs(again.corrupted - trace.corrupted) < 1e-9)
    }

    @Test func patchMatchesAttributionPatching() throws {
        let folder = try tinyModelFolder(), out = temporaryPath("patch")
        defer { for p in [folder, out] { try? FileManager.default.removeItem(atPath: p) } }
        let source = "The capital of Spain of"
        let result = try PatchCommand.parse(["--model", folder, "--clean", source, "--corrupted", prompt, "--target", " is", "--distractor", " of",
                                             "--component", "block_output", "--out", out]).execute()
        let loaded = try ModelLoader.load(named: folder)
        let question = try AttributionPrompt(tokenizer: try loaded.requireTokenizer(), prompt: prompt, source: source, target: " is", distractor: " of")
        let reference = try AttributionPatching.run(model: loaded.model, base: question.base, source: question.source!, component: .blockOutput,
                                                    metric: question.metric, method: .linear)
        for (a, b) in zip(result.grids[0].effects.joined(), reference.patching.joined()) { #expect(abs(a - b) < 1e-4) }
        #expect(result.corruptedPositions == [question.base.count - 1] && FileManager.default.fileExists(atPath: out + "/block_output.svg"))
    }

    /// Bad input: typed errors naming the flag, and exit code 2 from `run`.
    @Test func badInputsAreRefused() throws {
        let folder = try tinyModelFolder(), out = temporaryPath("bad")
        defer { for p in [folder, out] { try? FileManager.default.removeItem(atPath: p) } }
        let trace: [([String], String)] = [
            (["--subject", "Madrid", "--answer", " is"], "--subject"),
            (["--answer", " is"], "exactly one of --subject"),
            (["--subject", "Spain", "--subject-tokens", "0:1", "--answer", " is"], "exactly one of --subject"),
            (["--subject-tokens", "3:1", "--answer", " is"], "--subject-tokens"),
            (["--subject-tokens", "0:99", "--answer", " is"], "--subject-tokens"),
            (["--subject", "Spain", "--answer", " Madrid"], "--answer"),
            (["--subject", "Spain", "--answer", " is", "--component", "head_result"], "component"),
            (["--subject", "Spain", "--answer", " is", "--component", "nowhere"], "--component"),
            (["--subject", "Spain", "--answer", " is", "--window", "0"], "--window"),
        ]
        for (extra, message) in trace {
            let command = try TraceCommand.parse(["--model", folder, "--prompt", prompt, "--out", out] + extra)
            expectRefused(command, extra, message: message) { _ = try command.execute() }
        }
        let patch: [([String], String)] = [
            (["--corrupted", "The capital of Italy is a city", "--target", " is"], "--corrupted"),
            (["--corrupted", "The capital of Spain of", "--target", " Madrid"], "--target"),
            (["--corrupted", "The capital of Spain of", "--target", " is", "--distractor", " is"], "--distractor"),
            (["--corrupted", "The capital of Spain of", "--target", " is", "--component", "attention_weight"], "component"),
        ]
        for (extra, message) in patch {
            let command = try PatchCommand.parse(["--model", folder, "--clean", prompt, "--out", out] + extra)
            expectRefused(command, extra, message: message) { _ = try command.execute() }
        }
        for malformed in [["--samples", "0"], ["--noise", "-1"], ["--max-rows", "0"], ["--samples", "many"]] {
            #expect(throws: (any Error).self) {
                try TraceCommand.parse(["--model", folder, "--prompt", prompt, "--subject", "Spain", "--answer", " is", "--out", out] + malformed)
            }
        }
    }

    /// The binary end to end: exit 0 with the summary and files, exit 2 for bad input.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: interveneBinary), "needs the intervene binary (swift build)"))
    func binaryRunsAndRefuses() throws {
        let folder = try tinyModelFolder(), out = temporaryPath("binary")
        defer { for p in [folder, out] { try? FileManager.default.removeItem(atPath: p) } }
        let good = try runIntervene(["trace", "--model", folder, "--prompt", prompt, "--subject", "Spain", "--answer", " is", "--samples", "2",
                                  "--window", "2", "--out", out])
        #expect(good.status == 0, "\(good.error)")
        #expect(good.output.contains("p(\" is\"): clean") && good.output.contains("mlp_output (window 2)"))
        #expect(FileManager.default.fileExists(atPath: out + "/trace.json") && FileManager.default.fileExists(atPath: out + "/mlp_output_w2.svg"))
        let patched = try runIntervene(["patch", "--model", folder, "--clean", prompt, "--corrupted", "The capital of Spain of", "--target", " is",
                                     "--out", out])
        #expect(patched.status == 0 && patched.output.contains("prompts differ at positions"), "\(patched.error)")
        for bad in [["trace", "--model", folder, "--prompt", prompt, "--subject", "Madrid", "--answer", " is", "--out", out],
                    ["trace", "--model", folder, "--prompt", prompt, "--subject", "Spain", "--answer", " Madrid", "--out", out],
                    ["trace", "--model", folder, "--prompt", prompt, "--subject", "Spain", "--answer", " is", "--component", "bogus", "--out", out],
                    ["patch", "--model", folder, "--clean", prompt, "--corrupted", "Spain", "--target", " is", "--out", out]] {
            let run = try runIntervene(bad)
            #expect(run.status == 2 && run.error.contains("error:"), "\(bad): \(run.status) \(run.error)")
        }
    }
}
