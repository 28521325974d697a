import Foundation
import Testing
import CausalAbstraction
import Intervene
import Models
import Tensors

/// The paper's "Love" − "Hate" steering vector on SmolLM2 (SMOLLM2_GGUF or `make smollm2`), when
/// present: added at the residual stream after block 6 with coefficient 5, it raises the
/// probability that the next token is a positive word on the paper's prompt "I hate you because"
/// (measured 0.0003 → 0.0104) and on two of three other prompts; on "Today I feel", where it is
/// already 0.155, it falls to 0.112.
@Suite struct SteeringSmolLM2Tests {
    static let positiveWords = [" love", " like", " care", " happy", " great", " good", " beautiful", " wonderful", " amazing", " kind"]

    /// p(next token | prompt) summed over `words` (their first tokens), from logits (1, S, V).
    static func probability(_ logits: Tensor, ids: [Int]) -> Float {
        let last = logits.narrowed(1, start: logits.shape[1] - 1, length: 1).reshaped([logits.shape[2]]).softmax().scalars
        return ids.reduce(0) { $0 + last[$1] }
    }

    @Test(.enabled(if: AttributionPatchingTests.smolLM2 != nil, "set SMOLLM2_GGUF to SmolLM2-135M-Instruct.Q4_1.gguf"))
    func loveMinusHateRaisesPositiveWords() throws {
        let loaded = try ModelLoader.load(.gguf(AttributionPatchingTests.smolLM2!))
        let tokenizer = loaded.tokenizer!
        let vector = try SteeringVector.compute(model: loaded.model, tokenizer: tokenizer, pairs: [.init(positive: "Love", negative: "Hate")],
                                                site: Site(layer: 6, component: .blockOutput))
        let steered = try vector.intervenable(model: loaded.model, coefficient: 5)
        let words = Set(Self.positiveWords.map { tokenizer.encode($0, addSpecialTokens: false).ids[0] })
        var figures: [String] = []
        var raised = 0, paperRatio: Float = 0
        let prompts = ["I hate you because", "I think that you are", "My feelings about the weather are", "Today I feel"]
        for prompt in prompts {
            let ids = tokenizer.encode(prompt).ids
            let input = ModelInput.tokens(IndexTensor(shape: [1, ids.count], values: ids))
            let locations = try SteeringVector.schedule(for: steered, promptLength: ids.count).locations
            let out = try Tensor.withoutGradients { try steered.forward(base: input, unitLocations: locations, outputOriginal: true) }
            let before = Self.probability(out.original!.logits, ids: Array(words)), after = Self.probability(out.intervened.logits, ids: Array(words))
            if after > before { raised += 1 }
            if prompt == prompts[0] { paperRatio = after / before }
            figures.append(String(format: "%@: %.4f → %.4f", prompt, before, after))
        }
        let generation = try SteeringVector.generate(steered, prompt: tokenizer.encode("I hate you because").ids,
                                                     config: GenerationConfig(maxNewTokens: 20), outputOriginal: true)
        func text(_ r: GenerationResult) -> String { tokenizer.decode(r.sequences[0]) }
        print("steering Love−Hate at 6:block_output ×5, ‖V‖ \(vector.norm), \(vector.vector.shape[0]) positions; p(positive word):",
              figures.joined(separator: "; "))
        print("steered:  ", text(generation.intervened))
        print("unsteered:", text(generation.original!))
        #expect(paperRatio >= 10)
        #expect(raised >= 3)
        #expect(text(generation.intervened) != text(generation.original!))
    }
}
