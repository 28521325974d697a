import Intervene
import Models
import Tensors

extension SteeringVector {
    /// Where and when the steering interventions of `model` act on a prompt of `promptLength`
    /// tokens, read from their placement: `.prompt` writes rows 0..<n at prompt positions 0..<n
    /// on the prompt's pass only; `.allPositions` writes at every prompt position and at every
    /// generated token. Throws `SteeringError` when an intervention is not a
    /// `SteeringIntervention`, placements differ, or the prompt is shorter than an aligned vector.
    public static func schedule(for model: IntervenableModel, promptLength: Int) throws -> (locations: UnitLocations, timing: GenerationTiming) {
        var steering: [SteeringIntervention] = []
        for (key, intervention) in zip(model.keys, model.interventions) {
            guard let s = intervention as? SteeringIntervention else {
                throw SteeringError.notSteering(reason: "intervention \(key) is a \(intervention.typeName); generation applies steering bundles (SteeringIntervention) only")
            }
            steering.append(s)
        }
        let placements = Set(steering.map(\.placement))
        guard placements.count == 1, let placement = placements.first else {
            throw SteeringError.notSteering(reason: "the interventions have placements \(placements.map(\.rawValue).sorted()); allowed: one placement for all")
        }
        switch placement {
        case .prompt:
            let rows = steering.map(\.positions)
            if let longest = rows.max(), longest > promptLength { throw SteeringError.promptTooShort(tokens: promptLength, positions: longest) }
            // An intervention with one row and prompt placement acts at position 0, as its row 0 would.
            return (UnitLocations(rows.map { InterventionLocations(source: nil, base: [.positions(Array(0..<$0))]) }), .prompt)
        case .allPositions:
            return (UnitLocations.base([Array(0..<promptLength)], interventions: steering.count), .promptAndGeneratedTokens { _ in true })
        }
    }

    /// Generates from the token ids `prompt` (one sequence) with the steering interventions of
    /// `model` applied as their placement says (see `schedule(for:promptLength:)`); with
    /// `outputOriginal`, also without them.
    public static func generate(_ model: IntervenableModel, prompt: [Int], config: GenerationConfig,
                                outputOriginal: Bool = false) throws -> InterventionGeneration {
        guard !prompt.isEmpty else { throw SteeringError.emptyPrompt(field: "prompt", text: "") }
        let (locations, timing) = try schedule(for: model, promptLength: prompt.count)
        return try Tensor.withoutGradients {
            try model.generate(prompt: IndexTensor(shape: [1, prompt.count], values: prompt), unitLocations: locations, timing: timing,
                               config: config, outputOriginal: outputOriginal)
        }
    }
}
