import Foundation
import Testing
import Intervene
import Models
import Tensors

// This target imports the library's public API only (no @testable): it is what a user outside
// the package can do.

/// A made-up decoder family, "pico_lm", with config.json field names and checkpoint names of its
/// own: RMS norms, rotary positions, a gated SiLU MLP, grouped-query attention.
enum PicoLM {
    static let keyMap = DecoderKeyMap(
        tokenEmbedding: "net.tok", layerPrefix: "net.blocks", attentionNorm: "norm_a", mlpNorm: "norm_m",
        query: "attn.wq", key: "attn.wk", value: "attn.wv", attentionOutput: "attn.wo",
        mlpUp: "ff.up", mlpGate: "ff.gate", mlpDown: "ff.down", finalNorm: "net.norm", outputHead: "net.head")

    static let family = DecoderFamily(modelType: "pico_lm", keyMap: keyMap) { c in
        let width = try c.int("dim"), heads = try c.int("n_heads")
        try c.requireDivisor("n_heads", heads, of: "dim", width)
        return DecoderConfig(modelType: "pico_lm", vocabularySize: try c.int("vocab"), width: width, layers: try c.int("depth"),
                             heads: heads, kvHeads: try c.int("n_kv_heads"), intermediate: 2 * width, contextLength: 64,
                             norm: .rmsNorm(epsilon: 1e-6), positions: .rotary(RotaryOptions(dimensions: width / heads, theta: 10_000)),
                             mlp: .gated(.silu), tiedHead: false)
    }
}

@Suite struct CustomArchitectureTests {
    /// Writes a random pico_lm checkpoint folder and loads it through the registry.
    func savedPicoModel() throws -> any HookableModel {
        ArchitectureRegistry.shared.register(PicoLM.family.architecture)
        let folder = NSTemporaryDirectory() + "intervene-pico-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let config = #"{"model_type": "pico_lm", "vocab": 50, "dim": 16, "depth": 2, "n_heads": 4, "n_kv_heads": 2}"#
        try config.write(toFile: folder + "/config.json", atomically: true, encoding: .utf8)
        let original = try PicoLM.family.model(ModelConfig(path: folder + "/config.json"))
        original.initializeRandomly(seed: 5, std: 0.3)
        try original.save(to: folder + "/model.safetensors")
        #expect(try SafeTensorsFile(path: folder + "/model.safetensors").contains("net.blocks.1.ff.gate.weight"))
        return try ModelLoader.load(folder: folder)
    }

    let base = IndexTensor(shape: [2, 5], values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    let source = IndexTensor(shape: [2, 5], values: [11, 12, 13, 14, 15, 16, 17, 18, 19, 20])

    @Test func registeredFamilyGetsEverySite() throws {
        let model = try savedPicoModel()
        #expect(model.modelType == "pico_lm")
        for component: Component in [.blockOutput, .headQueryOutput, .headKeyOutput, .attentionWeight, .mlpActivation, .tlZ, .residualMiddle] {
            #expect(model.siteTable.specs[component] != nil, "\(component)")
        }
        let sites = try ["blocks.1.attn.hook_k", "L0.block_output", "blocks.0.attn.hook_pattern", "ln_final.hook_normalized"].map { try Site(parsing: $0) }
        let (output, cache) = try model.runWithCache(.tokens(base), sites: sites)
        #expect(cache[sites[0]]!.shape == [2, 5, 2, 4])
        #expect(cache[sites[1]]!.shape == [2, 5, 16])
        #expect(cache[sites[2]]!.shape == [2, 4, 5, 5])
        #expect(output.logits.shape == [2, 5, 50])
    }

    @Test func interchangeInterventionOnARegisteredFamily() throws {
        let model = try savedPicoModel()
        let site = Site(layer: 1, component: .blockOutput)
        let config = IntervenableConfig(RepresentationConfig(layer: 1, component: .blockOutput), interventionType: .vanilla)
        let intervenable = try IntervenableModel(config: config, model: model)
        let out = try intervenable.forward(base: .tokens(base), sources: [.tokens(source)], unitLocations: .position(2, batchSize: 2))
        // The same by hand: cache the source's block output, write position 2 into the base run.
        let (_, sourceCache) = try model.runWithCache(.tokens(source), sites: [site])
        let patch = HookRegistry()
        patch.add(layer: 1, tap: .blockOutput) { activation, _ in
            let s = sourceCache[site]!
            activation = Tensor.concatenate([activation.narrowed(1, start: 0, length: 2), s.narrowed(1, start: 2, length: 1),
                                             activation.narrowed(1, start: 3, length: 2)], axis: 1)
        }
        var options = ForwardOptions()
        options.hooks = patch
        let expected = try model.forward(.tokens(base), options: options).logits
        #expect((out.intervened.logits - expected).abs().maxValue() < 1e-6)
        #expect((out.intervened.logits - (try model(.tokens(base)).logits)).abs().maxValue() > 1e-4)
    }

    @Test func badConfigsOfARegisteredFamilyAreNamed() throws {
        ArchitectureRegistry.shared.register(PicoLM.family.architecture)
        let c = ModelConfig(json: try JSONValue.parse(#"{"model_type": "pico_lm", "vocab": 50, "dim": 16, "depth": 2, "n_heads": 3, "n_kv_heads": 1}"#).objectValue!)
        #expect(throws: ModelError.invalidConfig(path: "config.json", field: "n_heads", value: "3", expected: "a divisor of dim (16)")) {
            try PicoLM.family.model(c)
        }
    }
}
