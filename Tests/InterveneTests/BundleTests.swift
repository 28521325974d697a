import Foundation
import Testing
@testable import Intervene
import Models
import Tensors

@Suite(.serialized) struct BundleTests {
    func folder() -> String { NSTemporaryDirectory() + "intervene-bundle-\(UUID().uuidString)" }

    func trainedIntervenable(_ model: DecoderModel) throws -> IntervenableModel {
        let config = IntervenableConfig(representations: [
            RepresentationConfig(layer: 1, component: .blockOutput, interventionType: .boundlessRotatedSpace),
            RepresentationConfig(layer: 0, component: .mlpOutput, lowRankDimension: 3, interventionType: .lowRankRotatedSpace),
        ])
        let im = try IntervenableModel(config: config, model: model, seed: 3)
        for (_, p) in im.trainableParameters { p.assign(Tensor.randomNormal(p.shape, std: 0.1, seed: 9)) }
        return im
    }

    func output(_ im: IntervenableModel) throws -> Tensor {
        try im.forward(base: .tokens(baseTokens), sources: [.tokens(sourceTokens)], unitLocations: .position(2, batchSize: 2, interventions: 2)).intervened.logits
    }

    @Test func savedBundleReloadsToIdenticalOutputs() throws {
        let model = tinyGPT2()
        let im = try trainedIntervenable(model)
        let path = folder()
        try InterventionBundle.save(im, to: path, modelSource: "test", metrics: ["iia": 0.5], provenance: .init(command: "test", seed: 3, data: "none"))
        for file in ["bundle.json", "weights.safetensors", "README.md"] { #expect(FileManager.default.fileExists(atPath: path + "/" + file)) }
        let loaded = try InterventionBundle.load(from: path, model: model)
        #expect(maxDifference(try output(loaded), try output(im)) < 1e-5)
        let boundless = loaded.interventions[0] as! BoundlessRotatedSpaceIntervention
        #expect(boundless.boundaries.value.scalars == (im.interventions[0] as! BoundlessRotatedSpaceIntervention).boundaries.value.scalars)
        #expect(try InterventionBundle.manifest(at: path).metrics["iia"] == 0.5)
    }

    @Test func bundleForAnotherModelIsRefused() throws {
        let im = try trainedIntervenable(tinyGPT2(seed: 1))
        let path = folder()
        try InterventionBundle.save(im, to: path, modelSource: "test", provenance: .init(command: "test", seed: 0, data: ""))
        do {
            _ = try InterventionBundle.load(from: path, model: tinyGPT2(seed: 2))
            Issue.record("expected a model mismatch")
        } catch let BundleError.modelMismatch(_, model, _, _) {
            #expect(model == "gpt2")
        }
    }

    /// Rewrites a saved bundle's weights: `change(name, tensor)` returns the new tensor, or nil
    /// to drop it. Starts from the bundle as saved (kept in weights.original.safetensors).
    func rewriteWeights(_ path: String, _ change: (String, Tensor) -> Tensor?) throws {
        let original = path + "/weights.original.safetensors", file = path + "/weights.safetensors"
        if !FileManager.default.fileExists(atPath: original) { try FileManager.default.copyItem(atPath: file, toPath: original) }
        let weights = try SafeTensorsFile(path: original)
        var items: [String: SafeTensorsWriter.Item] = [:]
        for name in weights.names { if let t = change(name, try weights.tensor(name)) { items[name] = .float(t) } }
        try SafeTensorsWriter.write(items, to: file)
    }

    /// A Boundless DAS temperature or boundary of the wrong shape (or a non-positive temperature)
    /// is refused naming the tensor, its shape and the expected shape.
    @Test func misshapedTemperatureAndBoundaryAreNamed() throws {
        let model = tinyGPT2()
        let im = try trainedIntervenable(model)
        let path = folder()
        try InterventionBundle.save(im, to: path, modelSource: "test", provenance: .init(command: "test", seed: 0, data: ""))
        let key = im.keys[0]
        func loadError(_ name: String, _ replacement: Tensor) throws -> BundleError? {
            try rewriteWeights(path) { n, t in n == key + "." + name ? replacement : t }
            do { _ = try InterventionBundle.load(from: path, model: model) } catch let e as BundleError { return e }
            return nil
        }
        let temperature = try loadError("temperature", Tensor.zeros([3]))
        #expect(temperature == .tensor(path: path, intervention: key,
                                       reason: "BoundlessRotatedSpaceIntervention: tensor 'temperature' has shape [3], expected [] (a scalar) or [1]"))
        #expect(temperature.map { "\($0)" } == "\(path): intervention '\(key)': BoundlessRotatedSpaceIntervention: tensor 'temperature' has shape [3], expected [] (a scalar) or [1]")
        #expect(try loadError("temperature", Tensor(scalar: 0)) == .tensor(path: path, intervention: key,
                                                                           reason: "BoundlessRotatedSpaceIntervention: tensor 'temperature' has value 0.0, expected a positive finite number"))
        #expect(try loadError("intervention_boundaries", Tensor.zeros([2, 1])) == .tensor(path: path, intervention: key,
                                                                                           reason: "BoundlessRotatedSpaceIntervention: tensor 'intervention_boundaries' has shape [2, 1], expected [1]"))
        #expect(try loadError("temperature", Tensor([7])) == nil)  // [1] is accepted, as pyvene may save it
    }

    @Test func missingOrMisshapedTensorsAreNamed() throws {
        let model = tinyGPT2()
        let im = try trainedIntervenable(model)
        let path = folder()
        try InterventionBundle.save(im, to: path, modelSource: "test", provenance: .init(command: "test", seed: 0, data: ""))
        try rewriteWeights(path) { name, tensor in name.hasSuffix("intervention_boundaries") ? nil : tensor }
        do { _ = try InterventionBundle.load(from: path, model: model); Issue.record("expected a missing-tensor error") } catch let BundleError.tensor(_, intervention, reason) {
            #expect(intervention == im.keys[0])
            #expect(reason.contains("intervention_boundaries"))
        }
        let key = im.keys[1] + ".rotate_layer.weight"
        try rewriteWeights(path) { name, tensor in name == key ? Tensor.zeros([16, 2]) : tensor }
        do { _ = try InterventionBundle.load(from: path, model: model); Issue.record("expected a shape error") } catch let BundleError.tensor(_, intervention, reason) {
            #expect(intervention == im.keys[1])
            #expect(reason.contains("[16, 2]") && reason.contains("[16, 3]"))
        }
    }

    @Test func unsupportedVersionAndMalformedManifests() throws {
        let model = tinyGPT2()
        let path = folder()
        try InterventionBundle.save(try trainedIntervenable(model), to: path, modelSource: "test", provenance: .init(command: "t", seed: 0, data: ""))
        let text = try String(contentsOfFile: path + "/bundle.json", encoding: .utf8)
        try text.replacingOccurrences(of: "\"version\": 1", with: "\"version\": 2").write(toFile: path + "/bundle.json", atomically: true, encoding: .utf8)
        #expect(throws: BundleError.unsupportedVersion(path: path + "/bundle.json", found: "2", supported: "1")) { try InterventionBundle.load(from: path, model: model) }
        try "{\"format\": \"pickle\"}".write(toFile: path + "/bundle.json", atomically: true, encoding: .utf8)
        #expect(throws: BundleError.self) { try InterventionBundle.load(from: path, model: model) }
        try "not json".write(toFile: path + "/bundle.json", atomically: true, encoding: .utf8)
        #expect(throws: BundleError.self) { try InterventionBundle.load(from: path, model: model) }
    }

    @Test func interruptedSaveLeavesThePreviousBundleIntact() throws {
        let model = tinyGPT2()
        let first = try trainedIntervenable(model)
        let path = folder()
        try InterventionBundle.save(first, to: path, modelSource: "test", metrics: ["iia": 1], provenance: .init(command: "first", seed: 0, data: ""))
        let second = try trainedIntervenable(model)
        for (_, p) in second.trainableParameters { p.assign(Tensor.randomNormal(p.shape, std: 0.5, seed: 77)) }
        struct Crash: Error {}
        InterventionBundle.beforeWriting = { file in if file == "README.md" { throw Crash() } }
        defer { InterventionBundle.beforeWriting = nil }
        #expect(throws: Crash.self) {
            try InterventionBundle.save(second, to: path, modelSource: "test", metrics: ["iia": 2], provenance: .init(command: "second", seed: 0, data: ""))
        }
        InterventionBundle.beforeWriting = nil
        #expect(try InterventionBundle.manifest(at: path).metrics["iia"] == 1)
        #expect(maxDifference(try output(try InterventionBundle.load(from: path, model: model)), try output(first)) < 1e-5)
        let parent = (path as NSString).deletingLastPathComponent, name = (path as NSString).lastPathComponent
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: parent).filter { $0.hasPrefix(name + ".tmp") }
        #expect(leftovers.isEmpty)
        // A complete second save replaces the first.
        try InterventionBundle.save(second, to: path, modelSource: "test", metrics: ["iia": 2], provenance: .init(command: "second", seed: 0, data: ""))
        #expect(try InterventionBundle.manifest(at: path).metrics["iia"] == 2)
    }

    @Test func closuresCannotBeSaved() throws {
        let model = tinyGPT2()
        let im = try IntervenableModel(config: IntervenableConfig(RepresentationConfig(layer: 0, component: .blockOutput), interventionType: .vanilla),
                                       model: model, prebuilt: [0: ClosureIntervention { b, _, _ in b }])
        #expect(throws: BundleError.self) { try InterventionBundle.save(im, to: folder(), modelSource: "x", provenance: .init(command: "", seed: 0, data: "")) }
    }
}
