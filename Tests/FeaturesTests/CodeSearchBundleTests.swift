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

    @Test func codeInterventionsTravelWithTheBundle() throws {
        let path = NSTemporaryDirectory() + "codebook-bundle-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let edited = try CodebookModel(model: tinyGPT2(), specs: specs, seed: 7)
        let mlp = try #require(edited.codebook(named: "L1.mlp")), head = try #require(edited.codebook(named: "L0.attn_preproj.g1"))
        mlp.patches = [CodePatch(positions: [-1], slot: 0, code: 5)]
        head.callOptions = CodebookCallOptions(disabledCodes: [2, 3])
        let before = try Tensor.withoutGradients { try edited.forward(ids) }
        #expect(before.codes["L1.mlp"]!.values[10] == 5)
        try CodebookBundle.save(edited, to: path, modelSource: "tinyGPT2")
        let loaded = try CodebookBundle.load(from: path, onto: tinyGPT2())
        #expect(loaded.codebook(named: "L1.mlp")?.patches == mlp.patches)
        #expect(loaded.codebook(named: "L0.attn_preproj.g1")?.callOptions == head.callOptions)
        #expect(loaded.codebook(named: "L0.attn_preproj.g0")?.callOptions == .plain)
        let after = try Tensor.withoutGradients { try loaded.forward(ids) }
        #expect(after.codes == before.codes && after.logits.scalars == before.logits.scalars)
        // An edit naming a code the codebook lacks is refused, and the model is left as it was.
        let json = path + "/bundle.json"
        let text = try String(contentsOfFile: json, encoding: .utf8).replacingOccurrences(of: "\"code\" : 5", with: "\"code\" : 99")
        try text.write(toFile: json, atomically: true, encoding: .utf8)
        let fresh = tinyGPT2()
        #expect(throws: BundleError.self) { try CodebookBundle.load(from: path, onto: fresh) }
        #expect(fresh.insertions.entries.isEmpty)
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

/// One token per letter a…z (ids 1…26), id 0 for anything else; no special tokens.
struct LetterTokenizer: Tokenizer {
    func encode(_ text: String, addSpecialTokens: Bool) -> Encoding {
        let ids = text.unicodeScalars.map { s -> Int in s.value >= 97 && s.value < 123 ? Int(s.value) - 96 : 0 }
        return Encoding(ids: ids, tokens: ids.map { "\($0)" }, offsets: [])
    }
    func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String {
        String(ids.map { $0 > 0 && $0 < 27 ? Character(Unicode.Scalar(UInt8($0 + 96))) : " " })
    }
    var vocabularySize: Int { 40 }
    var paddingId: Int { 0 }
    func id(of token: String) -> Int? { nil }
}

/// Collecting codes by running a codebook model over prompts.
@Suite struct CodeSearchCollectionTests {
    @Test func collectGathersEveryCodebookAndNeurons() throws {
        let specs = [CodebookSpec(placement: .mlp, layers: [1], codeCount: 8, k: 2),
                     CodebookSpec(placement: .attentionPreprojection, layers: [0], codeCount: 6, k: 1, groups: 2)]
        let model = try CodebookModel(model: tinyGPT2(), specs: specs)
        var calls: [Int] = []
        let (data, metrics) = try CollectedCodes.collect(model, tokenizer: LetterTokenizer(), prompts: ["the cat", "a mat"], neurons: true) { done, _ in
            calls.append(done)
        }
        #expect(calls == [1, 2])
        #expect(data.documents.map(\.text) == ["the cat", "a mat"])
        #expect(data.codebooks.map(\.name) == ["L0.attn_preproj.g0", "L0.attn_preproj.g1", "L1.mlp"])
        #expect(data.codebooks[2].ids.map(\.count) == [14, 10])
        #expect(data.neurons["L1.mlp"]?.shape == [12, 16] && data.neurons["L0.attn_preproj"]?.shape == [12, 16])
        #expect(metrics.loss.isFinite && metrics.loss > 0)
        #expect(try data.activationCounts(codebook: "L1.mlp").reduce(0, +) >= 12)
        let search = try CodeSearch.search(data, pattern: "at")
        #expect(search.matchedTokens == 2 && !search.matches.isEmpty)
        #expect(throws: CodeAnalysisError.invalidOption(field: "prompts[1]", value: "'' (no tokens)", allowed: "a prompt with at least one token")) {
            try CollectedCodes.collect(model, tokenizer: LetterTokenizer(), prompts: ["a", ""])
        }
    }
}
