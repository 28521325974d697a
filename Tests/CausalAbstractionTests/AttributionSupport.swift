import Foundation
import CausalAbstraction
import Intervene
import Models
import Tensors

/// Small random decoders for attribution tests, with every norm gain and bias (and the attention
/// and MLP biases) perturbed away from 1 and 0 so that the frozen norm's gain, its bias term and
/// the attention bias are all exercised.
enum AttributionModels {
    static func perturb(_ model: DecoderModel, seed: UInt64) -> DecoderModel {
        model.initializeRandomly(seed: seed, std: 0.3)
        var g = RandomGenerator(seed: seed &+ 1)
        model.visitParameters { _, p in
            if p.shape.count == 1 { p.assign(p.value + Tensor.randomNormal(p.shape, std: 0.2, using: &g)) }
        }
        return model
    }

    /// GPT-2: layer norms with biases, learned positions, a plain MLP, biases everywhere.
    static func gpt2(seed: UInt64 = 2) throws -> DecoderModel {
        perturb(try GPT2Family.model(GPT2Family.config(vocabularySize: 40, positions: 16, width: 16, layers: 3, heads: 2)), seed: seed)
    }

    static func family(_ family: DecoderFamily, _ json: String, seed: UInt64) throws -> DecoderModel {
        perturb(try family.model(ModelConfig(json: try JSONValue.parse(json).objectValue!)), seed: seed)
    }

    /// Llama: RMS norms, rotary positions, grouped-query attention (4 heads over 2), a gated MLP.
    static func llama(seed: UInt64 = 3) throws -> DecoderModel {
        try family(LlamaFamilies.llama, """
        {"model_type": "llama", "vocab_size": 40, "max_position_embeddings": 16, "hidden_size": 16, "num_hidden_layers": 3,
         "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 24}
        """, seed: seed)
    }

    /// Gemma 2: sandwich norms, (1 + w) gains, soft-capped logits.
    static func gemma2(seed: UInt64 = 4) throws -> DecoderModel {
        try family(GemmaFamilies.gemma2, """
        {"model_type": "gemma2", "vocab_size": 40, "max_position_embeddings": 16, "hidden_size": 16, "num_hidden_layers": 2,
         "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 8, "intermediate_size": 24}
        """, seed: seed)
    }

    static func input(_ ids: [Int]) -> ModelInput { .tokens(IndexTensor(shape: [1, ids.count], values: ids)) }

    /// The metric of `model` on `ids` with `hook` at (layer, tap).
    static func metric(_ model: any HookableModel, _ ids: [Int], _ metric: AttributionMetric, layer: Int, tap: Component,
                       _ hook: @escaping HookRegistry.Hook) throws -> Double {
        let hooks = HookRegistry()
        hooks.add(layer: layer, tap: tap, hook)
        var options = ForwardOptions()
        options.hooks = hooks
        return Double(try Tensor.withoutGradients { metric.values(try model.forward(input(ids), options: options).logits).item })
    }
}

/// A linear autoencoder at a residual site that taps its latents as an SAE does, written here so
/// that the attribution tests need no `Features`:
///
///     z = ReLU(x W_enc)      (…, L)
///     out = x + tap(z) W_dec − z W_dec  (= x)
final class TappedAutoencoder: Intervention {
    let typeName = "TappedAutoencoder"
    let form = BlockForm.units
    let sourceRequirement = SourceRequirement.none
    let encoder: Tensor, decoder: Tensor  // (d, L), (L, d)

    init(width: Int, latents: Int, seed: UInt64) {
        encoder = Tensor.randomNormal([width, latents], std: 0.5, seed: seed)
        decoder = Tensor.randomNormal([latents, width], std: 0.5, seed: seed &+ 1)
    }

    var embedDimension: Int? { encoder.shape[0] }

    func latents(_ x: Tensor) -> Tensor { x.matmul(encoder).relu() }

    func apply(base: Tensor, source: Tensor?, subspaces: [[Int]]?) throws -> InterventionResult {
        try apply(base: base, source: source, subspaces: subspaces, tap: .none)
    }

    func apply(base: Tensor, source: Tensor?, subspaces: [[Int]]?, tap: SideOutputTap) throws -> InterventionResult {
        let z = latents(base)
        return InterventionResult(base + (tap("latents", z).matmul(decoder) - z.matmul(decoder)), sideOutputs: ["latents": z])
    }
}
