import ArgumentParser
import Foundation
import Testing
import Features
import Intervene
@testable import InterveneCLI
import Models
import Tensors

/// Fixture folders of the repository (Tests/Fixtures).
let fixturesFolder: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<2 { url.deleteLastPathComponent() }
    return url.path + "/Fixtures"
}()

/// `intervene sae import` and `intervene import-pyvene`, parsed and run in-process.
@Suite struct SAEImportCommandTests {
    @Test func everyCheckpointLayoutBecomesAnEquivalentSAELensFolder() throws {
        for file in ["saelens_relu.pt", "saelens_jumprelu.pt", "openai_topk.pt", "pyvene_autoencoder.pt", "wrapped.pt"] {
            let input = fixturesFolder + "/sae-torch/" + file, out = temporaryPath("sae")
            defer { try? FileManager.default.removeItem(atPath: out) }
            try SAEImportCommand.parse([input, "--out", out, "--json"]).run()
            let (original, _) = try SAECheckpoint.load(path: input)
            let converted = try SAELensFormat.load(folder: out)
            #expect(converted.activation == original.activation && converted.normalizesInput == original.normalizesInput
                    && converted.subtractsDecoderBias == original.subtractsDecoderBias, "\(file)")
            let x = Tensor.randomNormal([5, 6], seed: 3)
            let (z, m, s) = converted.encode(x), (z0, m0, s0) = original.encode(x)
            #expect(z.scalars == z0.scalars && converted.decode(z, mean: m, std: s).scalars == original.decode(z0, mean: m0, std: s0).scalars, "\(file)")
            // The folder converts again, unchanged.
            let again = temporaryPath("sae")
            defer { try? FileManager.default.removeItem(atPath: again) }
            try SAEImportCommand.parse([out, "--out", again]).run()
            #expect(try SAELensFormat.load(folder: again).encode(x).latents.scalars == z.scalars)
        }
        // Choices the file cannot make.
        let out = temporaryPath("sae")
        defer { try? FileManager.default.removeItem(atPath: out) }
        try SAEImportCommand.parse([fixturesFolder + "/sae-torch/saelens_relu.pt", "--out", out, "--architecture", "batchtopk", "--k", "3",
                                    "--apply-b-dec-to-input", "false", "--normalize", "layer_norm"]).run()
        let chosen = try SAELensFormat.load(folder: out)
        #expect(chosen.activation == .batchTopK(3) && !chosen.subtractsDecoderBias && chosen.normalizesInput)
    }

    @Test func badInputsAreTypedErrorsWithExitCodeTwo() throws {
        let sae = fixturesFolder + "/sae-torch/"
        let out = temporaryPath("never")
        let cases: [([String], String)] = [
            ([sae + "missing_b_dec.pt"], "no 'b_dec'"),
            ([sae + "misshaped.pt"], "'W_dec' has shape [6, 10]; expected [10, 6]"),
            ([sae + "malicious.pt"], "is not allowed"),
            ([sae + "expected.json"], "truncated zip"),
            (["/no/such/sae.pt"], "no such file or folder"),
            ([sae + "saelens_relu.pt", "--architecture", "gated"], "--architecture"),
            ([sae + "saelens_relu.pt", "--architecture", "topk"], "'--k' has value missing"),
            ([sae + "saelens_relu.pt", "--k", "3"], "only with --architecture topk or batchtopk"),
            ([sae + "saelens_relu.pt", "--architecture", "topk", "--k", "0"], "'--k' has value 0"),
            ([sae + "saelens_relu.pt", "--architecture", "topk", "--k", "11"], "'k' has value 11; allowed: 1...10"),
            ([sae + "saelens_relu.pt", "--architecture", "jumprelu"], "no 'threshold'"),
            ([sae + "saelens_relu.pt", "--apply-b-dec-to-input", "maybe"], "--apply-b-dec-to-input"),
            ([sae + "saelens_relu.pt", "--normalize", "rms"], "--normalize"),
            ([fixturesFolder + "/pyvene-saved/das", "--k", "2", "--architecture", "topk"], "only with a .pt/.bin checkpoint"),
        ]
        for (arguments, message) in cases {
            let command = try SAEImportCommand.parse(arguments + ["--out", out])
            expectRefused(command, arguments, message: message) { _ = try command.choices.load(arguments[0]) }
        }
        #expect(!FileManager.default.fileExists(atPath: out))
        #expect(!FileManager.default.fileExists(atPath: "/tmp/intervene-sae-pickle-ran"))
        #expect(throws: (any Error).self) { try SAEImportCommand.parse([sae + "saelens_relu.pt"]) }  // no --out
        #expect(throws: (any Error).self) { try SAEImportCommand.parse([sae + "saelens_relu.pt", "--out", out, "--k", "x"]) }
    }

    @Test func pyveneFoldersImportAsBundles() throws {
        let bundle = temporaryPath("bundle")
        defer { try? FileManager.default.removeItem(atPath: bundle) }
        let model = fixturesFolder + "/pyvene-saved/model"
        let imported = try ImportPyveneCommand.parse([fixturesFolder + "/pyvene-saved/autoencoder", "--model", model, "--out", bundle, "--json"]).execute()
        let loaded = try InterventionBundle.load(from: bundle, model: try ModelLoader.load(folder: model).model)
        let base = ModelInput.tokens(IndexTensor(shape: [1, 4], values: [5, 17, 33, 2])), source = ModelInput.tokens(IndexTensor(shape: [1, 4], values: [9, 1, 3, 4]))
        let locations = UnitLocations.position(2, batchSize: 1)
        let a = try imported.forward(base: base, sources: [source], unitLocations: locations).intervened.logits
        let b = try loaded.forward(base: base, sources: [source], unitLocations: locations).intervened.logits
        #expect(a.scalars == b.scalars)
        let manifest = try InterventionBundle.manifest(at: bundle)
        #expect(manifest.interventions.first?["type"]?.stringValue == "AutoencoderIntervention")
        #expect(try String(contentsOfFile: bundle + "/README.md", encoding: .utf8).contains("Imported from pyvene"))
    }

    @Test func pyveneImportRefusesAnotherModelAndBadFolders() throws {
        // A GPT-2 of width 8: the DAS rotation (16 × 16) cannot fit it.
        let other = temporaryPath("model")
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: other) }
        try Data(#"{"model_type": "gpt2", "vocab_size": 64, "n_positions": 16, "n_embd": 8, "n_layer": 2, "n_head": 2}"#.utf8)
            .write(to: URL(fileURLWithPath: other + "/config.json"))
        let small = try GPT2Family.model(GPT2Family.config(vocabularySize: 64, positions: 16, width: 8, layers: 2, heads: 2))
        small.initializeRandomly(seed: 1)
        try small.save(to: other + "/model.safetensors")
        let out = temporaryPath("never")
        let cases: [([String], String)] = [
            ([fixturesFolder + "/pyvene-saved/das", "--model", other], "has shape [16, 16], expected [8, 8]"),
            (["/no/such/folder", "--model", fixturesFolder + "/pyvene-saved/model"], "no config.json"),
            ([fixturesFolder + "/pyvene-saved/das", "--model", "/no/such/model"], "/no/such/model"),
        ]
        for (arguments, message) in cases {
            let command = try ImportPyveneCommand.parse(arguments + ["--out", out])
            expectRefused(command, arguments, message: message) { _ = try command.execute() }
        }
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}
