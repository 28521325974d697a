import Foundation
import Testing
@testable import Features
import Intervene
import Models
import Tensors

/// Tests/Fixtures/sae-torch (make_sae_checkpoints.py): SAEs saved by torch in SAELens', OpenAI's
/// and pyvene's key layouts, with reference latents and reconstructions, and damaged files.
enum SAETorchFixtures {
    static let folder: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<2 { url.deleteLastPathComponent() }
        return url.path + "/Fixtures/sae-torch"
    }()

    static func path(_ name: String) -> String { folder + "/" + name }

    /// The input x (4, 6) and the reference (latents, reconstruction) of `name`.
    static func expected(_ name: String) throws -> (x: Tensor, latents: Tensor, reconstruction: Tensor) {
        let json = try JSONValue.parse(contentsOf: path("expected.json"))
        func floats(_ v: JSONValue?) throws -> [Float] { try #require(v?.arrayValue).compactMap(\.doubleValue).map { Float($0) } }
        return (Tensor(shape: [4, 6], values: try floats(json["x"])), Tensor(shape: [4, 10], values: try floats(json[name]?["latents"])),
                Tensor(shape: [4, 6], values: try floats(json[name]?["reconstruction"])))
    }
}

@Suite struct SAECheckpointTests {
    func maxDifference(_ a: Tensor, _ b: Tensor) -> Float { (a - b).abs().maxValue() }

    @Test func everyLayoutReproducesItsReference() throws {
        let cases: [(String, SAECheckpointLayout, SAEActivation, Bool, Bool)] = [
            ("saelens_relu.pt", .saeLens, .relu, true, false),
            ("wrapped.pt", .saeLens, .relu, true, false),
            ("saelens_jumprelu.pt", .saeLens, .jumpReLU, false, false),
            ("openai_topk.pt", .openAI, .topK(3), true, true),
            ("openai_relu.pt", .openAI, .relu, true, false),
            ("pyvene_autoencoder.pt", .pyvene, .relu, true, false),
            ("pyvene_jumprelu.pt", .saeLens, .jumpReLU, false, false),
        ]
        for (file, layout, activation, subtracts, normalizes) in cases {
            let (sae, found) = try SAECheckpoint.load(path: SAETorchFixtures.path(file))
            #expect(found == layout, "\(file)")
            #expect(sae.activation == activation && sae.subtractsDecoderBias == subtracts && sae.normalizesInput == normalizes, "\(file)")
            #expect(sae.width == 6 && sae.latents == 10)
            let (x, latents, reconstruction) = try SAETorchFixtures.expected(file)
            let (z, mean, std) = sae.encode(x)
            #expect(maxDifference(z, latents) < 1e-5, "\(file) latents")
            #expect(maxDifference(sae.decode(z, mean: mean, std: std), reconstruction) < 1e-5, "\(file) reconstruction")
        }
    }

    @Test func optionsOverrideTheLayoutsDefaults() throws {
        let options = SAECheckpointOptions(activation: .topK(2), subtractsDecoderBias: false, normalizesInput: true)
        let (sae, _) = try SAECheckpoint.load(path: SAETorchFixtures.path("saelens_relu.pt"), options: options)
        #expect(sae.activation == .topK(2) && !sae.subtractsDecoderBias && sae.normalizesInput)
        #expect(throws: SAEError.self) { try SAECheckpoint.load(path: SAETorchFixtures.path("saelens_relu.pt"), options: .init(activation: .topK(11))) }
        #expect(throws: SAECheckpointError.missingTensor(path: SAETorchFixtures.path("saelens_relu.pt"), key: "threshold", layout: "saelens",
                                                         expected: "the JumpReLU threshold (d_sae)")) {
            try SAECheckpoint.load(path: SAETorchFixtures.path("saelens_relu.pt"), options: .init(activation: .jumpReLU))
        }
    }

    @Test func missingAndMisshapedKeysAreNamed() throws {
        let missing = SAETorchFixtures.path("missing_b_dec.pt"), misshaped = SAETorchFixtures.path("misshaped.pt")
        #expect(throws: SAECheckpointError.missingTensor(path: missing, key: "b_dec", layout: "saelens", expected: "the decoder bias (d_in) of shape [6]")) {
            try SAECheckpoint.load(path: missing)
        }
        #expect(throws: SAECheckpointError.shapeMismatch(path: misshaped, key: "W_dec", found: [6, 10], expected: [10, 6], meaning: "the decoder (d_sae, d_in)")) {
            try SAECheckpoint.load(path: misshaped)
        }
        // A checkpoint with no SAE in it, and one with two.
        let module = SAETorchFixtures.folder + "/../torch/module_state.pt"
        #expect(throws: SAECheckpointError.self) { try SAECheckpoint.load(path: module) }
        let two = SAETorchFixtures.path("two.pt")
        #expect(throws: SAECheckpointError.ambiguousLayout(path: two, candidates: ["a.W_enc", "b.encoder.weight"])) {
            try SAECheckpoint.load(path: two)
        }
        let e = try #require(try? { () -> SAECheckpointError? in
            do { _ = try SAECheckpoint.load(path: missing); return nil } catch let e as SAECheckpointError { return e }
        }())
        #expect("\(e)".contains("no 'b_dec' (the saelens layout needs the decoder bias (d_in) of shape [6])"))
    }

    @Test func aCheckpointThatCallsOsSystemIsRefusedUnrun() throws {
        do {
            _ = try SAECheckpoint.load(path: SAETorchFixtures.path("malicious.pt"))
            Issue.record("the malicious checkpoint was accepted")
        } catch let e as TorchCheckpointError {
            guard case .forbiddenGlobal(let module, "system", _) = e, ["posix", "os", "nt"].contains(module) else { Issue.record("\(e)"); return }
        }
        #expect(!FileManager.default.fileExists(atPath: "/tmp/intervene-sae-pickle-ran"))
    }

    /// OpenAI's / SAELens' layer norm (Bessel-corrected σ, ε after the root), by finite differences.
    @Test func normalisedEncodeDecodeHasFiniteDifferenceGradients() throws {
        let sae = try SparseAutoencoder(width: 5, latents: 7, activation: .relu, normalizesInput: true, seed: 2)
        sae.encoderBias.assign(Tensor.full([7], 0.3))
        let x = Tensor.randomNormal([3, 5], seed: 4)
        let mismatches = GradientCheck.mismatches([x]) { inputs in
            let (z, mean, std) = sae.encode(inputs[0])
            return sae.decode(z, mean: mean, std: std)
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(3))")
        // The statistics themselves.
        let (_, mean, std) = sae.encode(x)
        let row = Array(x.scalars[0..<5]), mu = row.reduce(0, +) / 5
        let sigma = (row.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / 4).squareRoot()
        let m = try #require(mean).scalars[0], s = try #require(std).scalars[0]
        #expect(abs(m - mu) < 1e-6 && abs(s - sigma) < 1e-5)
    }
}
