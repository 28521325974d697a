import Testing
import Features
import Intervene
import Models
import Tensors

/// Codebooks inserted into a decoder at every placement, trained through their auxiliary
/// losses, and used as an Intervention.
@Suite struct CodebookModelTests {
    let ids = IndexTensor(shape: [2, 5], values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])

    @Test func everyPlacementInsertsAndSnaps() throws {
        let specs = CodebookPlacement.allCases.map { CodebookSpec(placement: $0, layers: [-1], codeCount: 8, k: 2, groups: $0 == .qkv ? 2 : 1) }
        let model = try CodebookModel(model: tinyGPT2(), specs: specs)
        #expect(model.entries.map(\.name) == ["L1.transformer_block", "L1.mlp", "L1.mlp_mid", "L1.attn", "L1.attn_preproj",
                                              "L1.qkv.q", "L1.qkv.k", "L1.qkv.v"])
        let out = try Tensor.withoutGradients { try model.forward(ids) }
        #expect(out.logits.shape == [2, 5, 40])
        #expect(out.codes["L1.mlp"]?.shape == [2, 5, 2])
        // GPT-2's fused [q | k | v]: the reference's group 3 of 6 is k's group 1.
        #expect(model.codebook(named: "L1.qkv.g3") === model.codebook(named: "L1.qkv.k.g1"))
        model.codebooksEnabled = false
        let plain = try Tensor.withoutGradients { try model.forward(ids) }
        #expect(plain.codes.isEmpty)
    }

    @Test func qkvGroupsFollowTheFusedLayout() {
        // GPT-NeoX per head [q_h | k_h | v_h], 2 heads, 4 groups (2 per head).
        let map = (0..<12).compactMap { CodebookPlacement.qkvGroup($0, groups: 4, heads: 2, layout: .fusedPerHead) }
        #expect(map.map(\.part) == [0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2])
        #expect(map.map(\.group) == [0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3])
        #expect(CodebookPlacement.qkvGroup(5, groups: 3, heads: 2, layout: .fusedPerHead) == nil)
    }

    @Test func auxiliaryLossesTrainTheCodes() throws {
        let model = try CodebookModel(model: tinyGPT2(), specs: [CodebookSpec(placement: .mlp, layers: [0], codeCount: 8, objective: .vqvae(beta: 0.25))])
        model.model.freeze()
        let codebook = try #require(model.codebook(named: "L0.mlp"))
        codebook.codes.isTrainable = true
        let out = try model.forward(ids)
        #expect(Set(out.auxiliaryLosses.keys) == ["codebook_mse", "commitment"])
        out.auxiliaryLosses["codebook_mse"]!.backward()
        #expect(codebook.codes.grad != nil)
        #expect(model.model.parameterDictionary["insertions.L0.mlp_output.mlp.codebook.weight"] === codebook.codes)
    }

    @Test func codebookAsAnIntervention() throws {
        let codebook = try GroupCodebookLayer(name: "heads", width: 16, groups: 2, codeCount: 5, k: 1)
        let intervention = CodebookIntervention(codebook)
        let block = Tensor.randomNormal([2, 3, 16], seed: 4)
        let result = try Tensor.withoutGradients { try intervention.apply(base: block, source: nil, subspaces: nil) }
        #expect(result.output.shape == [2, 3, 16])
        #expect(result.sideOutputs["codes"]?.shape == [2, 2, 3, 1])
        let state = intervention.stateTensors()
        #expect(state.keys.sorted() == ["codebook.0.codebook.weight", "codebook.0.ln.bias", "codebook.0.ln.weight",
                                        "codebook.1.codebook.weight", "codebook.1.ln.bias", "codebook.1.ln.weight"])
        try intervention.loadState(state)
    }
}
