import Foundation
import Testing
@testable import Models
import Tensors

/// Models loaded from safetensors keep their Float32 weights in the mapped file: every GPT-2
/// parameter reaches its `Parameter` as a view of the file, the logits equal those of a copied
/// load, and training the loaded weights leaves the file as it was.
@Suite struct MappedCheckpointTests {
    /// A GPT-2-shaped checkpoint (the tiny test model) saved to a fresh file.
    func savedTinyGPT2() throws -> (model: DecoderModel, path: String) {
        let model = tinyGPT2()
        let path = temporaryFolder("mapped") + "/model.safetensors"
        try model.save(to: path)
        return (model, path)
    }

    func loaded(_ path: String, copying: Bool) throws -> DecoderModel {
        let model = try GPT2Family.model(GPT2Family.config(vocabularySize: 40, positions: 24, width: 16, layers: 2, heads: 2))
        try model.load(from: try Checkpoint(path: path, copyingWeights: copying))
        return model
    }

    @Test func everyGPT2WeightStaysMappedAndTheLogitsMatchACopiedLoad() throws {
        let (original, path) = try savedTinyGPT2()
        let mapped = try loaded(path, copying: false), copied = try loaded(path, copying: true)
        let notMapped = mapped.namedParameters.filter { !$0.parameter.value.borrowsMemory }.map(\.key)
        #expect(notMapped.isEmpty, "copied on load: \(notMapped)")
        #expect(mapped.namedParameters.count == 2 + 2 * 12 + 2 + 1)  // wte, wpe, 12 per layer, ln_f, tied lm_head
        #expect(copied.namedParameters.allSatisfy { !$0.parameter.value.borrowsMemory })
        // The tied head is the embedding's parameter, read in place once.
        #expect(mapped.parameterDictionary["lm_head.weight"] === mapped.parameterDictionary["transformer.wte.weight"])
        for ((key, m), (_, c)) in zip(mapped.namedParameters, copied.namedParameters) {
            #expect(m.value.scalars.map(\.bitPattern) == c.value.scalars.map(\.bitPattern), "\(key)")
        }
        let input = ModelInput.tokens(ids([[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]]))
        let logits = try mapped(input).logits
        #expect(maxDifference(logits, try copied(input).logits) == 0)
        #expect(maxDifference(logits, try original(input).logits) == 0)
    }

    @Test func trainingAMappedModelLeavesTheFileUnchanged() throws {
        let (original, path) = try savedTinyGPT2()
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let model = try loaded(path, copying: false)
        try model.unfreeze()
        var seen = Set<ObjectIdentifier>()
        let parameters = model.namedParameters.map(\.parameter).filter { seen.insert(ObjectIdentifier($0)).inserted }
        let adam = Adam(parameters, learningRate: 1e-2)
        let input = ModelInput.tokens(ids([[1, 2, 3, 4]]))
        for _ in 0..<2 {
            adam.zeroGrad()
            try model(input).logits.square().mean().backward()
            adam.step()
        }
        // Every weight got a gradient and moved, into memory of its own.
        for (key, p) in model.namedParameters {
            #expect(!p.value.borrowsMemory, "\(key)")
            #expect(p.value.scalars != original.parameterDictionary[key]!.value.scalars, "\(key)")
        }
        model.parameterDictionary["transformer.h.0.ln_1.bias"]!.assign(Tensor.full([16], 5))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        let reread = try loaded(path, copying: false)
        #expect(maxDifference(try reread(input).logits, try original(input).logits) == 0)
    }

    /// The decoder-family fixtures (written by transformers, all Float32): every weight of every
    /// family reaches its parameter as a view of the mapped file, none copied on the way.
    @Test func everyFixtureFamilyLoadsWithItsWeightsMapped() throws {
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { root.deleteLastPathComponent() }
        let folder = root.path + "/Tests/Fixtures/decoder-families"
        let families = try FileManager.default.contentsOfDirectory(atPath: folder).filter {
            FileManager.default.fileExists(atPath: folder + "/" + $0 + "/model.safetensors")
        }.sorted()
        #expect(families.contains("gpt2-inverse-layer") && families.count >= 10)
        for family in families {
            let model = try ModelLoader.load(folder: folder + "/" + family)
            let copied = model.namedParameters.filter { !$0.parameter.value.borrowsMemory }.map(\.key)
            #expect(copied.isEmpty, "\(family): copied on load: \(copied)")
        }
    }
}
