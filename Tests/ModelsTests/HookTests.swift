import Foundation
import Testing
@testable import Models
import Tensors

/// A user-defined architecture: y = relu(x W1) W2, with one hook site per layer.
final class ToyModel: HookableModel {
    let first = Linear(inFeatures: 3, outFeatures: 4)
    let second = Linear(inFeatures: 4, outFeatures: 2)
    let modelType = "toy"
    let siteTable = SiteTable(modelName: "toy", layers: 1, specs: [
        SiteSpec(component: .mlpActivation, unitDimension: 4), SiteSpec(component: "toy_output", unitDimension: 2),
    ])

    func visitParameters(_ visit: (String, Parameter) -> Void) {
        Models.visit(first, prefix: "first", visit)
        Models.visit(second, prefix: "second", visit)
    }

    func forward(_ input: ModelInput, options: ForwardOptions) throws -> ModelOutput {
        guard case .embeddings(let x) = input else { throw ModelError.invalidInput("toy takes embeddings") }
        var h = first(x).relu()
        try options.hooks(0, .mlpActivation, &h)
        var y = second(h)
        try options.hooks(0, "toy_output", &y)
        return ModelOutput(output: y)
    }
}

@Suite struct HookTests {
    @Test func customArchitectureRegistersAndLoads() throws {
        ArchitectureRegistry.shared.register(Architecture(modelType: "toy") { _ in ToyModel() })
        let folder = temporaryFolder("toy")
        write(#"{"model_type": "toy"}"#, to: folder + "/config.json")
        let source = ToyModel()
        source.initializeRandomly(seed: 3, std: 0.5)
        try source.save(to: folder + "/model.safetensors")
        let model = try ModelLoader.load(folder: folder)
        #expect(model.modelType == "toy")
        let x = ModelInput.embeddings(Tensor.randomNormal([2, 1, 3], seed: 4))
        #expect(maxDifference(try model(x).output, try source(x).output) == 0)
        let (_, cache) = try model.runWithCache(x, sites: [Site(layer: 0, component: "toy_output")])
        #expect(maxDifference(cache[Site(layer: 0, component: "toy_output")]!, try source(x).output) == 0)
    }

    /// A hook that throws stops the pass at once: no later hook runs and the error reaches the caller.
    @Test func failingHookStopsTheForwardPass() throws {
        struct Refused: Error, Equatable {}
        let hooks = HookRegistry()
        var laterCalls = 0
        hooks.add(layer: 0, tap: .attentionOutput) { _, _ in throw Refused() }
        hooks.add(layer: 0, tap: .mlpInput) { _, _ in laterCalls += 1 }
        hooks.add(layer: 1, tap: .blockInput) { _, _ in laterCalls += 1 }
        var options = ForwardOptions()
        options.hooks = hooks
        #expect(throws: Refused()) { try tinyGPT2().forward(.tokens(ids([[1, 2, 3]])), options: options) }
        #expect(laterCalls == 0)
    }

    @Test func runWithCacheMatchesHiddenStates() throws {
        let model = tinyGPT2()
        let input = ModelInput.tokens(ids([[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]]))
        let sites = [Site(layer: 0, component: .blockOutput), Site(layer: 1, component: .blockInput),
                     Site(layer: 1, component: .headQueryOutput), Site(layer: 0, component: .attentionWeight)]
        let (output, cache) = try model.runWithCache(input, sites: sites, options: ForwardOptions(outputHiddenStates: true))
        #expect(maxDifference(cache[sites[0]]!, output.hiddenStates[1]) == 0)
        #expect(maxDifference(cache[sites[1]]!, output.hiddenStates[1]) == 0)
        #expect(cache[sites[2]]!.shape == [2, 2, 5, 8])
        let pattern = cache[sites[3]]!
        #expect(pattern.shape == [2, 2, 5, 5])
        #expect(abs(pattern.sum(axis: -1).mean().item - 1) < 1e-5)
        #expect(pattern[0, 1, 1, 3] == 0)  // causal
        // One forward pass, not one per site: the logits equal a plain run.
        #expect(maxDifference(output.logits, try model(input).logits) == 0)
    }

    @Test func replacingAnActivationChangesTheOutput() throws {
        let model = tinyGPT2()
        let input = ModelInput.tokens(ids([[1, 2, 3]]))
        let hooks = HookRegistry()
        hooks.add(layer: 1, tap: .mlpOutput) { activation, _ in activation = activation * 0 }
        let patched = try model.forward(input, options: ForwardOptions(hooks: hooks)).logits
        #expect(maxDifference(patched, try model(input).logits) > 1e-3)
        // Patching the cached activation back in gives the plain logits exactly.
        let site = Site(layer: 1, component: .mlpOutput)
        let (_, cache) = try model.runWithCache(input, sites: [site])
        let restore = HookRegistry()
        restore.add(layer: 1, tap: .mlpOutput) { activation, _ in activation = cache[site]! }
        #expect(maxDifference(try model.forward(input, options: ForwardOptions(hooks: restore)).logits, try model(input).logits) == 0)
    }

    /// As in pyvene, BERT's mlp_input is the input of `intermediate` only: zeroing it gives
    /// mlp_output = LN(dense(act(intermediate(0))) + the unpatched attention output).
    @Test func bertMLPInputLeavesTheResidualUnpatched() throws {
        let model = try tinyBERT()
        let hooks = HookRegistry()
        var attended: Tensor?, mlpOutput: Tensor?
        hooks.add(layer: 0, tap: .attentionOutput) { activation, _ in attended = activation }
        hooks.add(layer: 0, tap: .mlpInput) { activation, _ in activation = activation * 0 }
        hooks.add(layer: 0, tap: .mlpOutput) { activation, _ in mlpOutput = activation }
        _ = try model.forward(.tokens(ids([[1, 2, 3, 4]])), options: ForwardOptions(hooks: hooks))
        let block = model.blocks[0], residual = try #require(attended), patched = try #require(mlpOutput)
        let mlp = try block.mlp(residual * 0) { _, _ in }
        #expect(maxDifference(patched, block.outputNorm(mlp + residual)) < 1e-5)
        #expect(maxDifference(patched, block.outputNorm(mlp)) > 1e-2)  // the residual was not zeroed
    }

    @Test func transformerLensNamesParse() throws {
        #expect(try Site(parsing: "blocks.3.hook_resid_post") == Site(layer: 3, component: .blockOutput))
        #expect(try Site(parsing: "blocks.0.attn.hook_z") == Site(layer: 0, component: .tlZ))
        #expect(try Site(parsing: "blocks.2.hook_mlp_out") == Site(layer: 2, component: .tlMLPOut))
        #expect(try Site(parsing: "L1.block_input") == Site(layer: 1, component: .blockInput))
        #expect(throws: SiteError.self) { try Site(parsing: "blocks.x.hook_resid_post") }
        #expect(throws: SiteError.self) { try Site(parsing: "blocks.1.nothing") }
        let table = tinyGPT2().siteTable
        // Hook names parse; the model's site table says whether they exist.
        #expect(throws: SiteError.self) { try table.spec(for: try Site(parsing: "blocks.1.hook_nothing")) }
        #expect(throws: SiteError.layerOutOfRange(layer: 5, model: "gpt2", layers: 2)) { try table.spec(for: Site(layer: 5, component: .blockOutput)) }
        #expect(throws: SiteError.self) { try table.spec(for: Site(layer: 0, component: "nope")) }
    }

    @Test func badInputsThrow() throws {
        let model = tinyGPT2()
        #expect(throws: ModelError.self) { try model(.tokens(ids([[1, 99]]))) }
        #expect(throws: ModelError.self) { try model(.embeddings(Tensor.zeros([1, 2, 16]))) }
        #expect(throws: ModelError.self) { try model(.tokens(ids([Array(repeating: 1, count: 30)]))) }
    }

    @Test func groupedQueryAttentionSitesHaveKeyValueWidths() throws {
        let model = try tinyLlama()
        let input = ModelInput.tokens(ids([[1, 2, 3]]))
        let sites = [Site(layer: 0, component: .keyOutput), Site(layer: 0, component: .headKeyOutput), Site(layer: 0, component: .headQueryOutput)]
        let (_, cache) = try model.runWithCache(input, sites: sites)
        #expect(cache[sites[0]]!.shape == [1, 3, 8])
        #expect(cache[sites[1]]!.shape == [1, 2, 3, 4])
        #expect(cache[sites[2]]!.shape == [1, 4, 3, 4])
    }
}
