import Models
import Tensors

/// How one codebook's codes split the TokFSM states when each state is read alone.
public struct StatePartition: Equatable, Sendable {
    /// The codebook ("L2.mlp", "L1.attn_preproj.g3").
    public var codebook: String
    /// Per code that fired, the states whose input selected it (ascending).
    public var groups: [Int: [Int]]

    public init(codebook: String, groups: [Int: [Int]]) {
        self.codebook = codebook
        self.groups = groups
    }

    /// The states some code selects for that state alone: over these inputs such a code has
    /// precision 1 and recall 1 for its state (and any code shared by two states precision ≤ ½).
    public var isolatedStates: Set<Int> {
        Set(groups.values.compactMap { $0.count == 1 ? $0[0] : nil })
    }

    /// The codes whose group is one state, each as that state's code (precision and recall 1
    /// over the one-state inputs), by state.
    public var isolatingCodes: [StateCode] {
        groups.compactMap { code, states in
            states.count == 1 ? StateCode(state: states[0], codebook: codebook, code: code, precision: 1, recall: 1) : nil
        }.sorted { $0.state < $1.state }
    }

    /// Every state's code in this codebook — the one its input selected, shared or not —
    /// with precision 1 / (states sharing it), by state.
    public var codeOfEveryState: [StateCode] {
        groups.flatMap { code, states in
            states.map { StateCode(state: $0, codebook: codebook, code: code, precision: 1 / Double(states.count), recall: 1) }
        }.sorted { ($0.state, $0.code) < ($1.state, $1.code) }
    }
}

extension TokFSMCodes {
    /// The first-state partition of every codebook — the analysis of the reference library's
    /// TokFSM notebooks (codebook-features' `partition_input_on_codebook` with inputs of one
    /// state): each state's input is BOS followed by the state's digit tokens, the codebook model
    /// runs over all of them in one batch without gradients, and each codebook's codes at the
    /// last token (every one of its k slots) group the states that selected them. Unlike
    /// `stateCodes`, which searches codes over sampled trajectories where the model must also
    /// track where states begin, this reads each code at the one position where the state is
    /// known exactly.
    public static func firstStatePartitions(_ codebooks: CodebookModel, fsm: TokFSM) throws -> [StatePartition] {
        let inputs = (0..<fsm.stateCount).map { [fsm.bosToken] + fsm.tokens(of: $0) }
        let collected = try collect(codebooks, fsm: fsm, sequences: inputs, neurons: false)
        let last = fsm.digits  // the position of each input's last digit
        return collected.codebooks.map { book in
            var groups: [Int: [Int]] = [:]
            for (state, row) in book.ids.enumerated() {
                for slot in 0..<book.k {
                    let code = row[last * book.k + slot]
                    if code >= 0 { groups[code, default: []].append(state) }
                }
            }
            return StatePartition(codebook: book.name, groups: groups)
        }
    }
}
