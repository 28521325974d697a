import ArgumentParser
import Foundation
import Testing
@testable import InterveneCLI

/// `intervene steer` and `intervene generate --bundle`, parsed and run in-process on a tiny GPT-2
/// with the golden tokenizer.
@Suite struct SteerCommandTests {
    @Test func theBundleSteerWritesAppliesInGenerate() throws {
        let folder = try tinyModelFolder(), bundle = temporaryPath("steer")
        defer { for p in [folder, bundle] { try? FileManager.default.removeItem(atPath: p) } }
        let prompt = "I think that you are"
        let report = try SteerCommand.parse([
            "--model", folder, "--positive", "Love", "--negative", "Hate", "--site", "1:block_output", "--coefficient", "30",
            "--reduction", "last_token", "--placement", "all_positions", "--out", bundle, "--prompt", prompt, "--max-new-tokens", "6", "--json",
        ]).execute()
        #expect(report["site"] as? String == "1:block_output" && report["width"] as? Int == 16)
        let steered = try #require(report["steered"] as? String), unsteered = try #require(report["unsteered"] as? String)
        #expect(steered != unsteered)
        for name in ["bundle.json", "weights.safetensors", "README.md"] { #expect(FileManager.default.fileExists(atPath: bundle + "/" + name)) }
        // The saved bundle applied by `generate` gives the same texts.
        let generated = try GenerateCommand.parse(["--model", folder, "--prompt", prompt, "--max-tokens", "6", "--bundle", bundle, "--json"]).execute()
        #expect(generated["text"] as? String == steered && generated["unsteered_text"] as? String == unsteered)
        // Coefficient 0 changes nothing; a negative coefficient parses.
        let zero = try SteerCommand.parse([
            "--model", folder, "--positive", "Love", "--negative", "Hate", "--site", "1:block_output", "--coefficient", "0",
            "--out", bundle, "--prompt", prompt, "--max-new-tokens", "6", "--json",
        ]).execute()
        #expect(zero["steered"] as? String == zero["unsteered"] as? String)
        let negative = try SteerCommand.parse([
            "--model", folder, "--positive", "I love you", "--negative", "Hate", "--site", "-1:block_output", "--coefficient", "-4",
            "--out", bundle, "--json",
        ]).execute()
        #expect((negative["positions"] as? Int ?? 0) > 1 && negative["coefficient"] as? Double == -4 && negative["site"] as? String == "1:block_output")
    }

    @Test func badArgumentsAreTypedErrors() throws {
        let folder = try tinyModelFolder(), bundle = temporaryPath("steer")
        defer { for p in [folder, bundle] { try? FileManager.default.removeItem(atPath: p) } }
        let base = ["--model", folder, "--out", bundle]
        let pair = ["--positive", "Love", "--negative", "Hate"]
        let cases: [([String], String)] = [
            (pair + ["--site", "1:nowhere"], "nowhere"),
            (pair + ["--site", "9:block_output"], "layer 9"),
            (pair + ["--site", "0:attention_weight"], "(batch, positions, width)"),
            (["--positive", "", "--negative", "Hate", "--site", "1:block_output"], "positive of pair 1"),
            (["--site", "1:block_output"], "no contrasting prompts"),
            (["--positive", "Love", "--positive", "Joy", "--negative", "Hate", "--site", "1:block_output"], "one --negative per --positive"),
            (pair + ["--site", "1:block_output", "--coefficient", "nan"], "coefficient has value nan"),
            (pair + ["--site", "1:block_output", "--reduction", "median"], "--reduction"),
            (pair + ["--site", "1:block_output", "--placement", "everywhere"], "--placement"),
            (["--positive", "I love you so much", "--negative", "Hate", "--site", "1:block_output", "--placement", "all_positions"], "placement all_positions"),
            (pair + ["--site", "1:block_output", "--padding", "  two words"], "padding text"),
            (["--positive", "I love you so much", "--negative", "Hate", "--site", "1:block_output", "--prompt", "I"], "at least"),
        ]
        for (extra, message) in cases {
            let command = try SteerCommand.parse(base + extra)
            expectRefused(command, extra, message: message) { _ = try command.execute() }
        }
        // A bundle that is not a steering bundle, and a missing one, are refused by generate.
        let generate = try GenerateCommand.parse(["--model", folder, "--prompt", "Hello", "--bundle", "/no/such/bundle"])
        expectRefused(generate, "missing bundle", message: "/no/such/bundle") { _ = try generate.execute() }
        #expect(throws: (any Error).self) { try GenerateCommand.parse(["--model", folder, "--prompt", "Hi", "--bundle", bundle, "--steer-site", "0:block_output", "--steer", "x"]) }
    }
}
