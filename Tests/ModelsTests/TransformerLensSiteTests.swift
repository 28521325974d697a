import Testing
import Models
import Tensors

/// TransformerLens hook names, their layouts, and gradient hooks.
@Suite struct TransformerLensSiteTests {
    func site(_ name: String) throws -> Site { try Site(parsing: name) }

    @Test func namesParse() throws {
        #expect(try site("blocks.1.attn.hook_q") == Site(layer: 1, component: .tlQuery))
        #expect(try site("blocks.0.hook_resid_mid") == Site(layer: 0, component: .residualMiddle))
        #expect(try site("blocks.0.attn.hook_pattern") == Site(layer: 0, component: .attentionWeight))
        #expect(try site("hook_embed") == Site(layer: 0, component: .tokenEmbedding))
        #expect(try site("ln_final.hook_normalized") == Site(layer: -1, component: .finalNormOutput))
        #expect(try site("L-1.block_output") == Site(layer: -1, component: .blockOutput))
        #expect(try site("6:block_output") == Site(layer: 6, component: .blockOutput))
        #expect(try site("-2:mlp_output") == Site(layer: -2, component: .mlpOutput))
        #expect(throws: SiteError.self) { try site("blocks.x.hook_resid_pre") }
    }

    @Test func layoutsMatchTransformerLens() throws {
        let model = tinyGPT2()  // D 16, H 2, d 8, I 64
        let input = ModelInput.tokens(ids([[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]]))
        let names = ["hook_embed", "hook_pos_embed", "blocks.0.hook_resid_pre", "blocks.0.attn.hook_q", "blocks.0.attn.hook_k",
                     "blocks.0.attn.hook_z", "blocks.0.attn.hook_attn_scores", "blocks.0.attn.hook_pattern", "blocks.0.attn.hook_result",
                     "blocks.0.hook_attn_out", "blocks.0.hook_resid_mid", "blocks.0.mlp.hook_pre", "blocks.0.mlp.hook_post",
                     "blocks.0.hook_mlp_out", "blocks.0.hook_resid_post", "ln_final.hook_normalized", "blocks.0.attn.hook_v"]
        let sites = try names.map(site)
        let (output, cache) = try model.runWithCache(input, sites: sites, options: ForwardOptions(outputHiddenStates: true))
        func c(_ name: String) throws -> Tensor { cache[try site(name)]! }
        #expect(try c("blocks.0.attn.hook_q").shape == [2, 5, 2, 8])
        #expect(try c("blocks.0.attn.hook_z").shape == [2, 5, 2, 8])
        #expect(try c("blocks.0.attn.hook_result").shape == [2, 5, 2, 16])
        #expect(try c("blocks.0.mlp.hook_pre").shape == [2, 5, 64])
        // Embeddings: token + position = the residual stream entering block 0.
        #expect(maxDifference(try c("hook_embed") + c("hook_pos_embed"), try c("blocks.0.hook_resid_pre")) < 1e-6)
        // The pattern is the softmax of the scores; masked scores are −∞.
        let scores = try c("blocks.0.attn.hook_attn_scores")
        #expect(scores.shape == [2, 2, 5, 5] && scores[0, 1, 1, 3] == -Float.infinity)
        #expect(maxDifference(scores.softmax(), try c("blocks.0.attn.hook_pattern")) < 1e-6)
        // Head results sum (plus the output bias, zero here) to the attention output.
        #expect(maxDifference(try c("blocks.0.attn.hook_result").sum(axis: 2), try c("blocks.0.hook_attn_out")) < 1e-5)
        #expect(maxDifference(try c("blocks.0.hook_resid_pre") + c("blocks.0.hook_attn_out"), try c("blocks.0.hook_resid_mid")) < 1e-6)
        #expect(maxDifference(try c("blocks.0.mlp.hook_pre").gelu(.tanh), try c("blocks.0.mlp.hook_post")) < 1e-6)
        #expect(maxDifference(try c("ln_final.hook_normalized"), output.hiddenStates[2]) == 0)
        // Computing the optional sites does not change the logits.
        #expect(maxDifference(output.logits, try model(input).logits) < 1e-5)
    }

    /// Gemma 2: hook_attn_out / hook_mlp_out are what is added to the residual stream, after the
    /// post-norms; pyvene's attention_output / mlp_output are the sub-blocks' outputs before them.
    @Test func sandwichResidualHooksFollowThePostNorms() throws {
        let json = """
        {"model_type": "gemma2", "vocab_size": 30, "max_position_embeddings": 16, "hidden_size": 8, "num_hidden_layers": 1,
         "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 4, "intermediate_size": 12, "sliding_window": 4}
        """
        let model = try GemmaFamilies.gemma2.model(ModelConfig(json: try JSONValue.parse(json).objectValue!))
        model.initializeRandomly(seed: 5, std: 0.3)
        let names = ["blocks.0.hook_resid_pre", "blocks.0.hook_attn_out", "blocks.0.hook_resid_mid", "blocks.0.hook_mlp_out",
                     "blocks.0.hook_resid_post", "0:attention_output"]
        let sites = try names.map(site)
        let (_, cache) = try model.runWithCache(.tokens(ids([[1, 2, 3]])), sites: sites)
        #expect(maxDifference(cache[sites[0]]! + cache[sites[1]]!, cache[sites[2]]!) < 1e-6)
        #expect(maxDifference(cache[sites[2]]! + cache[sites[3]]!, cache[sites[4]]!) < 1e-6)
        #expect(maxDifference(cache[sites[1]]!, cache[sites[5]]!) > 1e-3)
    }

    @Test func gatedMLPPostIsTheProduct() throws {
        let model = try tinyLlama()
        let input = ModelInput.tokens(ids([[1, 2, 3, 4]]))
        let sites = try ["blocks.1.mlp.hook_pre", "blocks.1.mlp.hook_post", "blocks.1.ln2.hook_normalized", "blocks.1.attn.hook_k"].map(site)
        let (_, cache) = try model.runWithCache(input, sites: sites + [Site(layer: 1, component: .mlpActivation)])
        #expect(cache[sites[3]]!.shape == [1, 4, 2, 4])  // two key/value heads of width 4
        #expect(maxDifference(cache[Site(layer: 1, component: .mlpActivation)]!, cache[sites[0]]!.silu()) < 1e-6)
        #expect(cache[sites[1]]!.shape == [1, 4, 24])
        #expect(maxDifference(cache[sites[1]]!, cache[Site(layer: 1, component: .mlpActivation)]!) > 1e-3)  // ⊙ up
    }

    @Test func modelLevelSitesExistAtOneLayerOnly() throws {
        let model = tinyGPT2()
        let input = ModelInput.tokens(ids([[1, 2]]))
        #expect(throws: SiteError.wrongLayer(.tokenEmbedding, layer: 1, model: "gpt2", only: 0)) {
            try model.runWithCache(input, sites: [Site(layer: 1, component: .tokenEmbedding)])
        }
        #expect(throws: SiteError.layerOutOfRange(layer: -3, model: "gpt2", layers: 2)) {
            try model.runWithCache(input, sites: [Site(layer: -3, component: .blockOutput)])
        }
    }

    /// The gradient at a site agrees with a finite difference of the objective along a random
    /// direction added to that activation. (This test found a use-after-free in the attention
    /// context's backward pass when the probabilities needed no gradient.)
    @Test func gradientHooksMatchFiniteDifferences() throws {
        let model = tinyGPT2()
        let input = ModelInput.tokens(ids([[1, 2, 3, 4], [5, 6, 7, 8]]))
        func objective(_ out: ModelOutput) -> Tensor { out.logits.narrowed(1, start: 3, length: 1).narrowed(2, start: 7, length: 1).sum() }
        let sites = try ["blocks.0.hook_resid_post", "hook_embed", "blocks.1.attn.hook_z", "blocks.0.attn.hook_pattern"].map(site)
        let result = try model.gradients(input, at: sites, objective: objective)
        #expect(abs(result.value - objective(try model(input)).item) < 1e-5)
        for s in sites {
            let gradient = result.gradients[s]!
            #expect(gradient.shape == result.activations[s]!.shape)
            let spec = try model.siteTable.spec(for: try model.siteTable.resolved(s))
            let direction = Tensor.randomNormal(gradient.shape, seed: 9)
            func shifted(_ eps: Float) throws -> Float {
                let hooks = HookRegistry()
                hooks.add(layer: s.layer, tap: spec.tap) { activation, _ in
                    activation = SiteViews.replacing(in: activation, spec.view, with: SiteViews.view(activation, spec.view) + direction * eps)
                }
                var options = ForwardOptions()
                options.hooks = hooks
                return objective(try model.forward(input, options: options)).item
            }
            let eps: Float = 1e-3
            let numeric = (try shifted(eps) - shifted(-eps)) / (2 * eps)
            let analytic = (gradient * direction).sum().item
            #expect(abs(numeric - analytic) < 5e-3 * max(1, abs(analytic)), "\(s): \(numeric) vs \(analytic)")
        }
    }
}
