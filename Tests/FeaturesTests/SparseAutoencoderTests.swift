import Foundation
import Testing
import Features
import Intervene
import Models
import Tensors

/// Intervene's sparse-autoencoder intervention: the error term, the latent edits, the
/// activations, gradients and bad settings.
@Suite struct SparseAutoencoderTests {
    func sae(_ activation: SAEActivation, normalizes: Bool = false, width: Int = 16, latents: Int = 24) throws -> SparseAutoencoder {
        let s = try SparseAutoencoder(width: width, latents: latents, activation: activation, normalizesInput: normalizes, seed: 3)
        s.encoderBias.assign(Tensor.randomNormal([latents], std: 0.2, seed: 4))
        s.decoderBias.assign(Tensor.randomNormal([width], std: 0.2, seed: 5))
        return s
    }

    /// With the error term and no edit (or an edit that changes nothing), the model's logits are
    /// the plain forward's.
    @Test func theErrorTermLeavesAnUneditedModelUnchanged() throws {
        let model = tinyGPT2()
        let input = ModelInput.tokens(IndexTensor(shape: [2, 5], values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]))
        let plain = try model(input).logits
        for edits in [[], [LatentEdit.scale(latent: 3, factor: 1)]] {
            let intervention = try SparseAutoencoderIntervention(sae: try sae(.topK(4), normalizes: true), edits: edits)
            let im = try IntervenableModel(config: IntervenableConfig(RepresentationConfig(layer: 0, component: .blockOutput, maxNumberOfUnits: 5),
                                                                      interventionType: .vanilla), model: model, prebuilt: [0: intervention])
            let all = Array(0..<5)
            let out = try im.forward(base: input, unitLocations: .base([all, all]))
            #expect((out.intervened.logits - plain).abs().maxValue() < 1e-5)
            #expect(try out.sideOutput("latents_base", representation: 0).shape == [2, 5, 24])
        }
    }

    @Test func editsChangeExactlyTheirLatents() throws {
        let s = try sae(.relu)
        let x = Tensor.randomNormal([2, 3, 16], seed: 6), source = Tensor.randomNormal([2, 3, 16], seed: 7)
        let z = s.encode(x).latents, zs = s.encode(source).latents
        func edited(_ edit: LatentEdit) throws -> Tensor {
            try SparseAutoencoderIntervention(sae: s, edits: [edit]).apply(base: x, source: source, subspaces: nil).sideOutputs["latents"]!
        }
        func column(_ t: Tensor, _ i: Int) -> [Float] { (0..<6).map { t.scalars[$0 * 24 + i] } }
        #expect(column(try edited(.set(latent: 2, value: 5)), 2) == Array(repeating: 5, count: 6))
        #expect(column(try edited(.scale(latent: 2, factor: 3)), 2) == column(z, 2).map { $0 * 3 })
        #expect(column(try edited(.ablate(latent: 2)), 2) == Array(repeating: 0, count: 6))
        #expect(zip(column(try edited(.clamp(latent: 2, low: 0.1, high: 0.2)), 2), column(z, 2).map { min(max($0, 0.1), 0.2) })
                    .allSatisfy { abs($0 - $1) < 1e-6 })
        let swapped = try edited(.interchange(latents: [2, 7]))
        #expect(column(swapped, 7) == column(zs, 7) && column(swapped, 3) == column(z, 3))
        // Without the error term the output is the decoded edit.
        let bare = try SparseAutoencoderIntervention(sae: s, edits: [.ablate(latent: 2)], keepsReconstructionError: false)
        let out = try bare.apply(base: x, source: nil, subspaces: nil).output
        #expect((out - s.decode(try edited(.ablate(latent: 2)))).abs().maxValue() < 1e-6)
    }

    @Test func activationsKeepTheirLatents() throws {
        let x = Tensor.randomNormal([3, 16], seed: 8)
        let top = try sae(.topK(5)).encode(x).latents.scalars
        for r in 0..<3 { #expect(top[(r * 24)..<((r + 1) * 24)].filter { $0 != 0 }.count <= 5) }
        let batch = try sae(.batchTopK(5)).encode(x).latents.scalars
        #expect(batch.filter { $0 != 0 }.count <= 15)
        let jump = try sae(.jumpReLU)
        jump.threshold.assign(Tensor.full([24], 0.3))
        #expect(jump.encode(x).latents.scalars.allSatisfy { $0 == 0 || $0 > 0.3 })
    }

    /// Central differences of Σ out² with respect to each parameter element, against backward().
    @Test func gradientsReachTheAutoencoder() throws {
        let s = try sae(.relu, width: 4, latents: 6)
        let x = Tensor.randomNormal([2, 4], seed: 9)
        let intervention = try SparseAutoencoderIntervention(sae: s, edits: [.scale(latent: 1, factor: 2)], keepsReconstructionError: false)
        func loss() throws -> Tensor { try intervention.apply(base: x, source: nil, subspaces: nil).output.square().sum() }
        for (name, p) in s.namedParameters where name != "threshold" {
            p.isTrainable = true
            p.zeroGrad()
            try loss().backward()
            let analytic = try #require(p.grad?.scalars, "\(name): no gradient")
            let original = p.value.scalars, eps: Float = 1e-2
            for i in original.indices {
                var plus = original, minus = original
                plus[i] += eps
                minus[i] -= eps
                p.assign(Tensor(shape: p.shape, values: plus))
                let up = try Tensor.withoutGradients { try loss().item }
                p.assign(Tensor(shape: p.shape, values: minus))
                let down = try Tensor.withoutGradients { try loss().item }
                let numeric = (up - down) / (2 * eps)
                #expect(abs(numeric - analytic[i]) <= 1e-2 + 2e-2 * abs(numeric), "\(name)[\(i)]: \(analytic[i]) vs \(numeric)")
            }
            p.assign(Tensor(shape: p.shape, values: original))
        }
    }

    @Test func badSettingsAreNamed() throws {
        #expect(throws: SAEError.invalid(field: "latent", value: "24", allowed: "0..<24 (the SAE's latents)")) {
            try SparseAutoencoderIntervention(sae: try sae(.relu), edits: [.ablate(latent: 24)])
        }
        #expect(throws: SAEError.invalid(field: "k", value: "30", allowed: "1...24 (the latents)")) {
            try SparseAutoencoder(width: 16, latents: 24, activation: .topK(30))
        }
        #expect(throws: SAEError.invalid(field: "W_enc", value: "shape [3, 3]", allowed: "shape [16, 24]")) {
            try sae(.relu).loadState(["W_enc": Tensor.zeros([3, 3])])
        }
    }
}

/// The error term on the real SmolLM2 (when `make smollm2` has fetched it).
@Suite struct SparseAutoencoderSmolLM2Tests {
    @Test func theErrorTermLeavesSmolLM2Unchanged() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let path = ProcessInfo.processInfo.environment["SMOLLM2_GGUF"].map { $0.hasPrefix("/") ? $0 : root + "/" + $0 }
            ?? root + "/.cache/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
        guard FileManager.default.fileExists(atPath: path) else { return }  // `make test` fetches it
        let model = try ModelLoader.load(.gguf(path)).model
        let input = ModelInput.tokens(IndexTensor(shape: [1, 5], values: [504, 3575, 282, 4649, 314]))
        let plain = try Tensor.withoutGradients { try model(input).logits }
        let sae = try SparseAutoencoder(width: 576, latents: 2048, activation: .topK(32), seed: 1)
        let intervention = try SparseAutoencoderIntervention(sae: sae, edits: [.scale(latent: 5, factor: 1)])
        let im = try IntervenableModel(config: IntervenableConfig(RepresentationConfig(layer: 10, component: .blockOutput, maxNumberOfUnits: 4),
                                                                  interventionType: .vanilla), model: model, prebuilt: [0: intervention])
        let out = try Tensor.withoutGradients { try im.forward(base: input, unitLocations: .base([[1, 2, 3, 4]])) }
        #expect((out.intervened.logits - plain).abs().maxValue() < 1e-5)
    }
}

/// SAELens folders in and out.
@Suite struct SAELensFormatTests {
    @Test func foldersRoundTripAndBadFieldsAreNamed() throws {
        let folder = NSTemporaryDirectory() + "intervene-sae-\(UUID().uuidString)"
        let sae = try SparseAutoencoder(width: 8, latents: 12, activation: .jumpReLU, subtractsDecoderBias: false, seed: 2)
        sae.threshold.assign(Tensor.full([12], 0.1))
        try SAELensFormat.save(sae, to: folder)
        let back = try SAELensFormat.load(folder: folder)
        #expect(back.activation == .jumpReLU && !back.subtractsDecoderBias && back.latents == 12)
        let x = Tensor.randomNormal([3, 8], seed: 4)
        #expect((back.encode(x).latents - sae.encode(x).latents).abs().maxValue() == 0)
        try #"{"d_in": 8, "d_sae": 12, "architecture": "gated"}"#.write(toFile: folder + "/cfg.json", atomically: true, encoding: .utf8)
        #expect(throws: SAEError.invalid(field: "architecture", value: "\"gated\"", allowed: "standard, topk, batchtopk, jumprelu")) {
            try SAELensFormat.load(folder: folder)
        }
        try #"{"d_in": 8, "d_sae": 16}"#.write(toFile: folder + "/cfg.json", atomically: true, encoding: .utf8)
        #expect(throws: SAEError.invalid(field: "W_enc", value: "shape [8, 12]", allowed: "shape [8, 16]")) {
            try SAELensFormat.load(folder: folder)
        }
    }
}

/// Evaluation: a perfect autoencoder explains everything and recovers the loss; one that
/// outputs zeros recovers none of it.
@Suite struct SAEEvaluationTests {
    @Test func perfectAndEmptyAutoencodersScoreAtTheEnds() throws {
        let model = tinyGPT2()
        let sequences = [[1, 2, 3, 4, 5, 6], [7, 8, 9, 10]]
        let site = Site(layer: 0, component: .blockOutput)
        let perfect = try SparseAutoencoder(width: 16, latents: 32, activation: .relu, subtractsDecoderBias: false)
        let identity = Tensor.eye(16)
        perfect.encoderWeight.assign(Tensor.concatenate([identity, identity * -1], axis: 1))
        perfect.decoderWeight.assign(Tensor.concatenate([identity, identity * -1], axis: 0))
        let good = try SAEEvaluation.evaluate(perfect, model: model, site: site, sequences: sequences)
        #expect(abs(good.varianceExplained - 1) < 1e-5 && abs(good.lossRecovered - 1) < 1e-4)
        // Each coordinate is carried by exactly one of its two latents; a latent whose sign never
        // occurs in these 10 tokens is dead.
        #expect(good.meanL0 == 16 && good.deadFraction < 0.5 && good.tokens == 10)
        #expect(abs(good.splicedLoss - good.cleanLoss) < 1e-4)
        let empty = try SparseAutoencoder(width: 16, latents: 32, activation: .relu)
        for (_, p) in empty.namedParameters { p.assign(Tensor.zeros(p.shape)) }
        let bad = try SAEEvaluation.evaluate(empty, model: model, site: site, sequences: sequences)
        #expect(abs(bad.lossRecovered) < 1e-6 && bad.meanL0 == 0 && bad.deadFraction == 1)
        #expect(throws: SAEError.self) { try SAEEvaluation.evaluate(empty, model: model, site: Site(layer: 0, component: .mlpActivation), sequences: sequences) }
        #expect(throws: SAEError.self) { try SAEEvaluation.evaluate(empty, model: model, site: site, sequences: [[1]]) }
    }
}
