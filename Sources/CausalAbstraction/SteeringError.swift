/// Bad input to steering (`SteeringVector`, `intervene steer`, `intervene generate --bundle`);
/// each case names the field, the bad value and what is allowed.
public enum SteeringError: Error, Equatable, CustomStringConvertible {
    /// No contrasting pair was given.
    case noPairs
    /// A prompt that tokenizes to nothing.
    case emptyPrompt(field: String, text: String)
    /// Positive and negative prompt lists of different lengths.
    case unpairedPrompts(positives: Int, negatives: Int)
    /// The padding text of aligned prompts is not exactly one token.
    case paddingNotOneToken(text: String, tokens: Int)
    /// A site whose activation is not (batch, positions, width).
    case unsuitableSite(site: String, shape: String)
    /// A coefficient that is not a finite number.
    case invalidCoefficient(value: String)
    /// `.allPositions` with a vector of several rows.
    case placementNeedsOneRow(placement: String, positions: Int)
    /// A prompt to steer with fewer tokens than the aligned vector has rows.
    case promptTooShort(tokens: Int, positions: Int)
    /// A model whose interventions are not all steering interventions of one placement.
    case notSteering(reason: String)

    public var description: String {
        switch self {
        case .noPairs: return "steering: no contrasting prompts; give at least one --positive and one --negative"
        case .emptyPrompt(let field, let text): return "steering: the \(field) \"\(text)\" has no tokens; give text with at least one token"
        case .unpairedPrompts(let p, let n):
            return "steering: \(p) positive and \(n) negative prompts; give one --negative per --positive (pairs are matched in order)"
        case .paddingNotOneToken(let text, let tokens):
            return "steering: the padding text \"\(text)\" is \(tokens) tokens; aligned prompts are padded with a text of exactly one token"
        case .unsuitableSite(let site, let shape):
            return "steering: site \(site) has shape \(shape); steering needs a site of shape (batch, positions, width), e.g. LAYER:block_output"
        case .invalidCoefficient(let value): return "steering: coefficient has value \(value); allowed: a finite number"
        case .placementNeedsOneRow(let placement, let positions):
            return "steering: placement \(placement) adds one vector everywhere, but this vector has \(positions) positions; use placement prompt or the last_token or mean reduction"
        case .promptTooShort(let tokens, let positions):
            return "steering: the prompt has \(tokens) tokens but the aligned steering vector has \(positions) positions; give a prompt of at least \(positions) tokens, shorter steering prompts, or placement all_positions with a one-row vector"
        case .notSteering(let reason): return "steering: \(reason)"
        }
    }
}
