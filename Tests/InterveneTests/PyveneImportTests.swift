import Foundation
import Testing
@testable import Intervene
import Models
import Tensors

/// Tests/Fixtures/pyvene-saved: folders written by pyvene 0.1.8's IntervenableModel.save for a
/// tiny GPT-2, with pyvene's logits after loading them (make_pyvene_saved.py made them).
enum PyveneSavedFixture {
    static let folder: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<2 { url.deleteLastPathComponent() }
        return url.path + "/Fixtures/pyvene-saved"
    }()

    static func model() throws -> any HookableModel { try ModelLoader.load(folder: folder + "/model").model }

    /// One case of expected.json: inputs, locations JSON and pyvene's logits.
    struct Case {
        let base: IndexTensor, source: IndexTensor
        let locations: JSONValue
        let shape: [Int]
        let original: [Float], intervened: [Float]
    }

    static func expected(_ name: String) throws -> Case {
        let json = try #require(try JSONValue.parse(contentsOf: folder + "/expected.json")["cases"]?[name])
        func tokens(_ key: String) throws -> IndexTensor {
            let rows = try #require(json[key]?.arrayValue).map { $0.arrayValue!.compactMap(\.intValue) }
            return IndexTensor(shape: [rows.count, rows[0].count], values: Array(rows.joined()))
        }
        func floats(_ key: String) throws -> [Float] { try #require(json[key]?.arrayValue).compactMap(\.doubleValue).map { Float($0) } }
        return Case(base: try tokens("base"), source: try tokens("source"), locations: try #require(json["unit_locations"]),
                    shape: try #require(json["logits_shape"]?.arrayValue).compactMap(\.intValue),
                    original: try floats("original_logits"), intervened: try floats("intervened_logits"))
    }

    /// A copy of a saved folder in a temporary directory, to damage.
    static func copy(_ name: String) throws -> String {
        let path = NSTemporaryDirectory() + "intervene-pyvene-\(UUID().uuidString)"
        try FileManager.default.copyItem(atPath: folder + "/" + name, toPath: path)
        return path
    }
}

@Suite struct PyveneImportTests {
    func maxError(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max() ?? .infinity }

    /// Runs `intervenable` on the case's inputs and compares with pyvene's logits.
    func check(_ intervenable: IntervenableModel, against c: PyveneSavedFixture.Case) throws {
        let locations = try UnitLocations(pyvene: c.locations, config: intervenable.config, batchSize: c.base.shape[0])
        let out = try Tensor.withoutGradients {
            try intervenable.forward(base: .tokens(c.base), sources: [.tokens(c.source)], unitLocations: locations, outputOriginal: true)
        }
        #expect(out.intervened.logits.shape == c.shape)
        #expect(maxError(try #require(out.original?.logits).scalars, c.original) < 2e-5)
        #expect(maxError(out.intervened.logits.scalars, c.intervened) < 1e-4)
    }

    @Test func readsTheDASFolderAsThisLibrarysConfig() throws {
        let saved = try PyveneSavedFolder.read(PyveneSavedFixture.folder + "/das")
        #expect(saved.entries.map(\.pyveneType) == ["RotatedSpaceIntervention", "VanillaIntervention", "LowRankRotatedSpaceIntervention"])
        #expect(saved.entries.map(\.key) == ["layer_0_comp_block_output_unit_pos_nunit_1#0", "layer_1_comp_mlp_output_unit_pos_nunit_1#0",
                                             "layer_1_comp_block_output_unit_pos_nunit_1#0"])
        let r = saved.config.representations
        #expect(r.map(\.layer) == [0, 1, 1] && r.map(\.component) == [.blockOutput, .mlpOutput, .blockOutput])
        #expect(r[2].lowRankDimension == 4 && r[0].lowRankDimension == nil)
        #expect(r[0].interventionHyperparameters == ["interchange_dim": 16] && r[1].interventionHyperparameters == ["interchange_dim": 8])
        #expect(r[2].interventionHyperparameters == nil)
        #expect(Set(saved.entries[0].state.keys) == ["rotate_layer.weight"] && saved.entries[1].state.isEmpty)
        #expect(saved.entries[2].state["rotate_layer.weight"]?.shape == [16, 4])
        // The decoded parametrizations are orthogonal and not the identity (the fixture moved them).
        for entry in [saved.entries[0], saved.entries[2]] {
            let w = try #require(entry.state["rotate_layer.weight"])
            #expect(maxDifference(w.transposed().matmul(w), Tensor.eye(w.shape[1])) < 1e-5, "\(entry.key) \(w.shape) \(w.transposed().matmul(w).scalars.prefix(20))")
        }
    }

    @Test func dasFolderGivesPyvenesOutputs() throws {
        let saved = try PyveneSavedFolder.read(PyveneSavedFixture.folder + "/das")
        try check(try saved.intervenableModel(on: try PyveneSavedFixture.model()), against: try PyveneSavedFixture.expected("das"))
    }

    @Test func autoencoderFolderGivesPyvenesOutputs() throws {
        let saved = try PyveneSavedFolder.read(PyveneSavedFixture.folder + "/autoencoder")
        let r = try #require(saved.config.representations.first)
        #expect(r.interventionType == .autoencoder)
        #expect(r.interventionHyperparameters == ["latent_dim": 24, "latent_indices": JSONCodable(.array([.int(3), .int(7)]))])
        try check(try saved.intervenableModel(on: try PyveneSavedFixture.model()), against: try PyveneSavedFixture.expected("autoencoder"))
    }

    @Test func importedFolderSavesAsABundleThatLoadsWithTheSameOutputs() throws {
        let model = try PyveneSavedFixture.model()
        let bundle = NSTemporaryDirectory() + "intervene-pyvene-bundle-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: bundle) }
        let imported = try PyveneSavedFolder.read(PyveneSavedFixture.folder + "/das").intervenableModel(on: model)
        try InterventionBundle.save(imported, to: bundle, modelSource: "fixture", provenance: .init(command: "test", seed: 0, data: "pyvene folder"))
        try check(try InterventionBundle.load(from: bundle, model: model), against: try PyveneSavedFixture.expected("das"))
    }
}

/// Damaged or unsupported pyvene folders end in typed errors naming the file and field.
@Suite struct PyveneImportErrorTests {
    func rewriteConfig(_ folder: String, _ edit: (inout String) -> Void) throws {
        var text = try String(contentsOfFile: folder + "/config.json", encoding: .utf8)
        edit(&text)
        try text.write(toFile: folder + "/config.json", atomically: true, encoding: .utf8)
    }

    func error(_ folder: String, model: (any HookableModel)? = nil) -> Error? {
        do {
            let saved = try PyveneSavedFolder.read(folder)
            if let model { _ = try saved.intervenableModel(on: model) }
            return nil
        } catch { return error }
    }

    @Test func missingConfigAndBadFieldsAreNamed() throws {
        #expect("\(error("/no/such/pyvene/folder")!)".contains("no config.json"))
        let cases: [(String, String, String)] = [
            ("RotatedSpaceIntervention'>", "__main__.Mine'>", "intervention_types[0]"),
            ("\"mode\": \"parallel\"", "\"mode\": \"sideways\"", "field 'mode'"),
            ("\"block_output\",\n      \"pos\"", "\"block_output\",\n      \"tokens\"", "representations[0].unit"),
            ("\"layer_0_comp_block_output_unit_pos_nunit_1#0\"", "\"../escape\"", "sorted_keys[0]"),
            ("\"intervention_dimensions\": [\n    16,", "\"intervention_dimensions\": [\n    \"all\",", "intervention_dimensions[0]"),
        ]
        for (old, new, message) in cases {
            let folder = try PyveneSavedFixture.copy("das")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            try rewriteConfig(folder) { $0 = $0.replacingOccurrences(of: old, with: new) }
            let e = error(folder)
            #expect(e is BundleError && "\(e!)".contains(message), "\(new): \(String(describing: e))")
        }
    }

    @Test func weightsOfTheWrongShapeOrMissingAreNamed() throws {
        let model = try PyveneSavedFixture.model()
        let folder = try PyveneSavedFixture.copy("das")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let first = folder + "/intkey_layer_0_comp_block_output_unit_pos_nunit_1#0.bin"
        let second = folder + "/intkey_layer_1_comp_block_output_unit_pos_nunit_1#0.bin"
        try FileManager.default.removeItem(atPath: first)
        try FileManager.default.copyItem(atPath: second, toPath: first)  // a 16 × 4 rotation where 16 × 16 belongs
        let e = try #require(error(folder, model: model))
        guard case BundleError.tensor(_, "layer_0_comp_block_output_unit_pos_nunit_1#0", let reason) = e else { Issue.record("\(e)"); return }
        #expect(reason.contains("rotate_layer.weight") && reason.contains("expected [16, 16]"))
        try FileManager.default.removeItem(atPath: first)
        #expect("\(error(folder, model: model)!)".contains("missing: RotatedSpaceIntervention has weights"))
    }

    @Test func aWeightsFileThatCallsOsSystemIsRefusedUnrun() throws {
        let folder = try PyveneSavedFixture.copy("autoencoder")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<2 { url.deleteLastPathComponent() }
        let target = folder + "/intkey_layer_1_comp_block_output_unit_pos_nunit_1#0.bin"
        try FileManager.default.removeItem(atPath: target)
        try FileManager.default.copyItem(atPath: url.path + "/Fixtures/sae-torch/malicious.pt", toPath: target)
        let e = try #require(error(folder))
        guard case TorchCheckpointError.forbiddenGlobal(_, "system", _) = e else { Issue.record("expected forbiddenGlobal, got \(e)"); return }
        #expect(!FileManager.default.fileExists(atPath: "/tmp/intervene-sae-pickle-ran"))
    }

    @Test func moeKeysAndPCAAreRefused() throws {
        let folder = try PyveneSavedFixture.copy("autoencoder")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let pristine = try String(contentsOfFile: folder + "/config.json", encoding: .utf8)
        try rewriteConfig(folder) { text in
            // The 11th field (moe_key) of the one representation.
            var json = try! JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
            var reps = json["representations"] as! [[Any]]
            reps[0][10] = 3
            json["representations"] = reps
            text = String(decoding: try! JSONSerialization.data(withJSONObject: json), as: UTF8.self)
        }
        #expect("\(error(folder)!)".contains("representations[0].moe_key"))
        try rewriteConfig(folder) { $0 = pristine.replacingOccurrences(of: "AutoencoderIntervention", with: "PCARotatedSpaceIntervention") }
        #expect("\(error(folder)!)".contains("components are not saved"))
    }
}
