import Tensors

/// The output head of a decoder: an (V × width) matrix that is the token embedding when the
/// checkpoint ties them, or a parameter of its own. One object, so the weight that is loaded is
/// the weight the forward pass uses.
struct LanguageModelHead {
    let weight: Parameter
    let tied: Bool

    init(tiedTo embedding: Embedding?, vocabulary: Int, width: Int) {
        if let embedding {
            weight = embedding.weight
            tied = true
        } else {
            weight = Parameter(Tensor.zerosView([vocabulary, width]), trainable: false)
            tied = false
        }
    }

    /// The end of a decoder's pass: advances the cache by the new tokens, applies the final
    /// norm (recorded as the last hidden state) and projects to logits (B, S, V), or (B, 1, V)
    /// when the options ask for the last position only.
    func output(_ x: Tensor, hidden: [Tensor], newTokens: Int, options: ForwardOptions,
                finalNorm: (Tensor) throws -> Tensor) rethrows -> ModelOutput {
        options.cache?.advance(by: newTokens)
        let normed = try finalNorm(x)
        var hidden = hidden
        if options.outputHiddenStates { hidden.append(normed) }
        let used = options.logitsForLastPositionOnly ? normed.narrowed(1, start: normed.shape[1] - 1, length: 1) : normed
        let logits = weight.quantized.map { used.linear(quantized: $0) } ?? used.linear(weight: weight.value)
        return ModelOutput(output: logits, hiddenStates: hidden)
    }
}
