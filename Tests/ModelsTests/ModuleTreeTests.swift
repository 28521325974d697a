import Testing
import Models
import Tensors

/// A trainable scale inserted at a site: x ↦ s · x.
final class Scale: SiteLayer {
    let scale: Parameter
    init(_ s: Float) { scale = Parameter(Tensor([s]), trainable: true) }
    func callAsFunction(_ activation: Tensor) throws -> Tensor { activation * scale.value }
    func visitParameters(_ visit: (String, Parameter) -> Void) { visit("scale", scale) }
}

@Suite struct ModuleTreeTests {
    @Test func childrenNameTheCheckpointTree() throws {
        let model = tinyGPT2()
        #expect(model.children.map(\.name) == ["transformer.wte", "transformer.wpe", "transformer.h.0", "transformer.h.1", "transformer.ln_f"])
        let fused = try #require(model.module(at: "transformer.h.1.attn.c_attn") as? Linear)
        #expect(fused.weight.shape == [16, 48])
        #expect(model.module(at: "transformer.h.7") == nil)
        // Every parameter name is a descendant's path plus the parameter's own name.
        let paths = Set(model.descendants.map(\.path))
        for (key, _) in model.namedParameters where key != "lm_head.weight" {
            let owner = String(key[..<key.lastIndex(of: ".")!])
            #expect(paths.contains(owner), "\(key)")
        }
    }

    @Test func insertedLayersRunAtTheirSiteAndTrain() throws {
        let model = tinyGPT2()
        let input = ModelInput.tokens(ids([[1, 2, 3], [4, 5, 6]]))
        let plain = try model(input).logits
        let site = Site(layer: 0, component: .blockOutput)
        let scale = Scale(0.5)
        try model.insert(scale, at: site, name: "scale")
        #expect(model.parameterDictionary["insertions.L0.block_output.scale.scale"] === scale.scale)
        // The same as a hook that halves the activation; caches see the inserted layer's output.
        let hooks = HookRegistry()
        hooks.add(layer: 0, tap: .blockOutput) { a, _ in a = a * 0.5 }
        model.insertions.enabled = false
        let expected = try model.forward(input, options: ForwardOptions(hooks: hooks)).logits
        let (_, reference) = try model.runWithCache(input, sites: [site], options: ForwardOptions(hooks: hooks))
        model.insertions.enabled = true
        let (output, cache) = try model.runWithCache(input, sites: [site])
        #expect(maxDifference(output.logits, expected) < 1e-6)
        #expect(maxDifference(cache[site]!, reference[site]!) < 1e-6)
        #expect(maxDifference(output.logits, plain) > 1e-3)
        // A plain call (the inserted layer is the only hook) runs the whole model.
        #expect(maxDifference(try model(input).logits, expected) < 1e-6)
        // Its parameter gets a gradient; the frozen model's do not.
        model.freeze()
        scale.scale.isTrainable = true
        try model(input).logits.sum().backward()
        #expect(scale.scale.grad != nil)
        #expect(model.parameterDictionary["transformer.h.0.ln_1.weight"]!.grad == nil)
        // Names are unique per site, sites are checked.
        #expect(throws: ModelError.self) { try model.insert(Scale(1), at: site, name: "scale") }
        #expect(throws: SiteError.self) { try model.insert(Scale(1), at: Site(layer: 4, component: .blockOutput), name: "x") }
        model.insertions.remove()
        #expect(maxDifference(try model(input).logits, plain) == 0)
    }
}
