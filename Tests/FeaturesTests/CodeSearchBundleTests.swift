import Foundation
import Testing
import Features
import Intervene
import Models
import Tensors

/// Codebooks saved as a bundle and loaded onto the same base model, refused by another model.
@Suite struct CodeSearchBundleTests {
    let ids = IndexTensor(shape: [1, 6], values: [1, 2, 3, 4, 5, 6])
    let specs = [CodebookSpec(placement: .mlp, layers: [1], codeCount: 8, k: 2),
                 CodebookSpec(placement: .attentionPreprojection, layers: [0], codeCount: 6, k: 1, groups: -1,
                              similarity: .euclidean, objective: .fullaeloss(beta: 0.5))]

    @Test func roundTripGivesTheSameCodesAndLogits() throws {
        let path = NSTemporaryDirectory() + "codebook-bundle-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let trained = try CodebookModel(model: tinyGPT2(), specs: specs, seed: 7)
        let before = try Tensor.withoutGradients { try trained.forward(ids) }
        try CodebookBundle.save(trained, to: path, modelSource: "tinyGPT2", metrics: ["loss": 1.5], command: "test")
        let fresh = tinyGPT2()
        #expect(CodebookBundle.baseFingerprint(fresh) == CodebookBundle.baseFingerprint(trained.model))
        let loaded = try CodebookBundle.load(from: path, onto: fresh)
        #expect(loaded.entries.map(\.name) == trained.entries.map(\.name))
        let after = try Tensor.withoutGradients { try loaded.forward(ids) }
        #expect(after.codes == before.codes)
        #expect(after.logits.scalars == before.logits.scalars)
        let head = try #require(loaded.codebook(named: "L0.attn_preproj.g1"))
        #expect(head.similarity == .euclidean && head.objective == .fullaeloss(beta: 0.5) && head.codeCount == 6)
    }

    @Test func anotherModelIsRefused() throws {
        let path = NSTemporaryDirectory() + "codebook-bundle-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try CodebookBundle.save(try CodebookModel(model: tinyGPT2(), specs: specs), to: path, modelSource: "tinyGPT2")
        let other = tinyGPT2()
        other.initializeRandomly(seed: 2, std: 0.2)
        do {
            _ = try CodebookBundle.load(from: path, onto: other)
            Issue.record("a bundle was loaded onto another model")
        } catch BundleError.modelMismatch(let p, let type, _, let fp) {
            #expect(p == path && type == "gpt2" && fp == CodebookBundle.baseFingerprint(other))
        }
        #expect(other.insertions.entries.isEmpty)
        // A damaged weights file leaves the model as it was.
        try Data("junk".utf8).write(to: URL(fileURLWithPath: path + "/weights.safetensors"))
        let same = tinyGPT2()
        #expect(throws: BundleError.self) { try CodebookBundle.load(from: path, onto: same) }
        #expect(same.insertions.entries.isEmpty)
        #expect(throws: BundleError.unreadable(path: path + "-missing", reason: "no bundle.json")) {
            try CodebookBundle.load(from: path + "-missing", onto: same)
        }
    }
}
