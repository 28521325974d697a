import Tensors

/// What one application of an intervention produces: the new block, auxiliary losses and named
/// side outputs.
///
/// ```swift
/// return InterventionResult(base + source)                                   // a static intervention
/// return InterventionResult(base, sideOutputs: ["collected": base])          // a collector
/// return InterventionResult(out, auxiliaryLosses: ["boundary": b.sum()])     // a regularised one
/// ```
public struct InterventionResult {
    /// The new block, shaped like the base block the intervention was given.
    public var output: Tensor
    /// Scalar losses (one element each) the trainer adds to its objective, weighted per name
    /// (`TrainingOptions.auxiliaryLossWeights`). They stay in the autodiff graph.
    public var auxiliaryLosses: [String: Tensor]
    /// Named tensors the intervention reports without writing them into the model (e.g.
    /// "collected" activations, codebook "codes", SAE "latents"). `IntervenableModel.forward`
    /// returns them per intervention key.
    public var sideOutputs: [String: Tensor]

    /// A result with `output` as the new block and optional losses and side outputs.
    public init(_ output: Tensor, auxiliaryLosses: [String: Tensor] = [:], sideOutputs: [String: Tensor] = [:]) {
        self.output = output
        self.auxiliaryLosses = auxiliaryLosses
        self.sideOutputs = sideOutputs
    }
}
