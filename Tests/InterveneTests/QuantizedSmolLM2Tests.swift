import Foundation
import Testing
@testable import Intervene
import Models
import Tensors

/// SmolLM2-135M-Instruct from its Q4_1 GGUF (SMOLLM2_GGUF, or the file `make smollm2` fetches)
/// loaded twice: matrices kept quantized (the default) and dequantized to Float32. The kernels
/// multiply bit-identical weights, so the two differ only by float32 summation order; through
/// 30 layers with SmolLM2's massive activations (|hidden| up to ~2.3e4 at position 0, see the
/// golden README) that moves logits by 5.9e-5 at most here (printed), the same size as the
/// float32 reordering between Intervene and torch. The checks allow 5e-4, the golden logit
/// tolerance, which budgets for exactly that rounding (README-more.md §4).
@Suite(.serialized) struct QuantizedSmolLM2Tests {
    static let path: String? = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let path = ProcessInfo.processInfo.environment["SMOLLM2_GGUF"] ?? root + "/.cache/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }()
    static let base = [504, 3575, 282, 7476, 314], source = [504, 3575, 282, 7158, 314]

    static func models() throws -> (quantized: DecoderModel, dequantized: DecoderModel) {
        let q = try ModelLoader.load(.gguf(path!)).model, d = try ModelLoader.load(.gguf(path!), quantizedWeights: .dequantize).model
        return (try #require(q as? DecoderModel), try #require(d as? DecoderModel))
    }

    static func input(_ ids: [Int]) -> ModelInput { .tokens(IndexTensor(shape: [1, ids.count], values: ids)) }

    @Test(.enabled(if: path != nil, "set SMOLLM2_GGUF to SmolLM2-135M-Instruct.Q4_1.gguf to compare quantized and dequantized SmolLM2"))
    func quantizedLogitsMatchTheDequantizedModel() throws {
        let (q, d) = try Self.models()
        let params = q.parameterDictionary
        #expect(params["model.layers.0.self_attn.q_proj.weight"]?.quantized?.type == .q4_1)
        #expect(params["model.embed_tokens.weight"]?.quantized?.type == .q8_0)
        #expect(params["model.norm.weight"]?.quantized == nil)
        #expect(ModelFingerprint.of(q) == ModelFingerprint.of(d), "same weights, same fingerprint: bundles carry over")
        let ids = [504, 3575, 282, 4649, 314, 260, 3575, 282, 7476, 314, 10629, 30]
        let lq = try Tensor.withoutGradients { try q(Self.input(ids)).logits }
        let ld = try Tensor.withoutGradients { try d(Self.input(ids)).logits }
        let diff = maxDifference(lq, ld)
        print("quantized vs dequantized SmolLM2, 12 tokens: max |Δlogit| = \(diff)")
        #expect(diff < 5e-4)
        #expect(lq.argmax(axis: -1).values == ld.argmax(axis: -1).values)
        // Decoding one token with the cache uses the fused kernel (one row): same argmax.
        let qGen = try Generator.generate(q, prompt: IndexTensor(shape: [1, 5], values: Self.base), config: GenerationConfig(maxNewTokens: 8))
        let dGen = try Generator.generate(d, prompt: IndexTensor(shape: [1, 5], values: Self.base), config: GenerationConfig(maxNewTokens: 8))
        #expect(qGen.sequences == dGen.sequences)
        #expect(throws: QuantizedWeightError.self) { try q.unfreeze() }
    }

    @Test(.enabled(if: path != nil, "set SMOLLM2_GGUF to SmolLM2-135M-Instruct.Q4_1.gguf to compare quantized and dequantized SmolLM2"))
    func interventionsAndTheirGradientsWorkUnchanged() throws {
        let (q, d) = try Self.models()
        // A vanilla interchange Spain ← Italy at block 10's output, last position.
        let vanilla = IntervenableConfig(RepresentationConfig(layer: 10, component: .blockOutput), interventionType: .vanilla)
        var outputs: [Tensor] = []
        for model: any HookableModel in [q, d] {
            let im = try IntervenableModel(config: vanilla, model: model)
            let out = try Tensor.withoutGradients {
                try im.forward(base: Self.input(Self.base), sources: [Self.input(Self.source)], unitLocations: .position(4, batchSize: 1), outputOriginal: true)
            }
            let moved = maxDifference(out.intervened.logits, out.original!.logits)
            #expect(moved > 0.1, "the interchange changes the logits (measured 0.87)")
            outputs.append(out.intervened.logits)
        }
        #expect(maxDifference(outputs[0], outputs[1]) < 5e-4)
        // DAS: a rotated-space intervention's gradient flows back through the quantized layers.
        let das = IntervenableConfig(RepresentationConfig(layer: 10, component: .blockOutput), interventionType: .rotatedSpace)
        var grads: [Tensor] = []
        for model: any HookableModel in [q, d] {
            let rotation = RotatedSpaceIntervention(embedDimension: 576, interchangeDimension: 8, seed: 5)
            let im = try IntervenableModel(config: das, model: model, prebuilt: [0: rotation])
            let out = try im.forward(base: Self.input(Self.base), sources: [Self.input(Self.source)], unitLocations: .position(4, batchSize: 1))
            let last = out.intervened.logits.narrowed(1, start: 4, length: 1).reshaped([1, -1])
            (last.logSoftmax().narrowed(1, start: 7268, length: 1) * -1).sum().backward()
            grads.append(try #require(im.trainableParameters.first?.parameter.grad))
        }
        let scale = grads[1].abs().maxValue()
        let gap = maxDifference(grads[0], grads[1])
        print("DAS generator gradient, quantized vs dequantized: max |Δ| = \(gap) (max |grad| \(scale))")
        #expect(scale > 0 && gap <= 1e-3 * scale + 1e-6)
    }
}
