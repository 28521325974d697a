import Foundation
import Testing
@testable import Intervene
import Models
import Tensors

/// A bundle read from a parsed bundle.json and in-memory weights loads as from its folder.
@Suite struct BundleFromMemoryTests {
    @Test func manifestAndWeightsFromMemoryLoadLikeTheFolder() throws {
        let model = tinyGPT2()
        let config = IntervenableConfig(RepresentationConfig(layer: 0, component: .mlpOutput, lowRankDimension: 3,
                                                             interventionType: .lowRankRotatedSpace))
        let im = try IntervenableModel(config: config, model: model, seed: 2)
        let path = NSTemporaryDirectory() + "intervene-bundle-memory-\(UUID().uuidString)"
        try InterventionBundle.save(im, to: path, modelSource: "test", provenance: .init(command: "test", seed: 2, data: "none"))
        let json = try JSONValue.parse(contentsOf: path + "/bundle.json")
        let weights = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path + "/weights.safetensors")))
        let manifest = try InterventionBundle.manifest(json: json, path: "memory")
        var opened = 0
        let loaded = try InterventionBundle.load(manifest: manifest, model: model) {
            opened += 1
            return try weights.withUnsafeBytes { try SafeTensorsFile(bytes: $0, name: "memory/weights.safetensors") }
        }
        #expect(opened == 1)
        let locations = UnitLocations.position(2, batchSize: 2, interventions: 1)
        let a = try loaded.forward(base: .tokens(baseTokens), sources: [.tokens(sourceTokens)], unitLocations: locations).intervened.logits
        let b = try im.forward(base: .tokens(baseTokens), sources: [.tokens(sourceTokens)], unitLocations: locations).intervened.logits
        #expect(maxDifference(a, b) < 1e-6)
        #expect(throws: BundleError.invalidField(path: "memory/bundle.json", field: "format", value: "missing", expected: "\"intervene-bundle\"")) {
            try InterventionBundle.manifest(json: try JSONValue.parse("{}"), path: "memory")
        }
    }
}
