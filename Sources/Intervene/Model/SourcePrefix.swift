import Models
import Tensors

/// Clean source passes of a causal language model run only as far along the sequence as their
/// getters read.
///
/// In a causal decoder the activation at position p depends on tokens 0…p alone (attention
/// sees no later key; positions count from 0 either way), so a source pass whose getters read
/// positions ≤ p gives the same values on the first p + 1 tokens as on the whole sequence — a
/// patch at position 10 of 64-token sources costs 11/64 of a source pass. Together with
/// stopping after the deepest getter's layer, this is most of a one-source interchange's
/// saving over running the source in full. The same values up to float rounding, not bit for
/// bit: BLAS picks its kernel by shape, and the attention scores of an 11-token block are
/// summed in another order than those of a 64-token one (GPT-2 small, position 10 of 64: the
/// source block differs by ≈ 1e-6, as batched and one-at-a-time runs do).
///
/// The prefix is used only when it is certainly exact: the model is a `CausalLanguageModel`;
/// every getter reads positions (units "pos" or "h.pos") given for every example, all inside the
/// sequence; no getter's activation has a key axis (attention scores and weights, (B, H, S, P),
/// shrink with the sequence) or is per time step. Otherwise the pass runs the whole sequence,
/// and out-of-range positions are reported against it as before.
extension IntervenableModel {
    /// The leading positions a clean source pass over `sequenceLength` tokens must run so that
    /// the getters of `members` read what a whole pass would give; nil when the whole sequence is
    /// needed (or the prefix would be all of it).
    func sourcePrefixLength(members: [Int], pass: InterventionPass, sequenceLength: Int) -> Int? {
        guard model is any CausalLanguageModel, !members.isEmpty else { return nil }
        var last = -1
        for i in members {
            let access = sites[i]
            guard access.unit == .position || access.unit == .headPosition, !access.spec.perTimeStep,
                  ![Component.attentionScores, .attentionWeight].contains(access.spec.tap),
                  let locations = pass.states[i].readLocations else { return nil }
            for location in locations {
                guard let positions = location.positions, !positions.isEmpty else { return nil }
                for p in positions {
                    guard p >= 0 && p < sequenceLength else { return nil }
                    last = max(last, p)
                }
            }
        }
        let length = last + 1
        return length > 0 && length < sequenceLength ? length : nil
    }
}

extension ModelInput {
    /// The first `length` positions of every example: token ids (B, S) → (B, length), embeddings
    /// (B, S, W) → (B, length, W). Inputs without a sequence axis are returned as they are.
    func prefix(_ length: Int) -> ModelInput {
        switch self {
        case .tokens(let ids):
            guard ids.shape.count == 2, length < ids.shape[1] else { return self }
            let (batch, width) = (ids.shape[0], ids.shape[1])
            var values: [Int] = []
            values.reserveCapacity(batch * length)
            for b in 0..<batch { values += ids.values[(b * width)..<(b * width + length)] }
            return .tokens(IndexTensor(shape: [batch, length], values: values))
        case .embeddings(let x):
            guard x.rank == 3, length < x.shape[1] else { return self }
            return .embeddings(x.narrowed(1, start: 0, length: length).contiguous())
        }
    }
}
