import Models
import Tensors

/// The code of one codebook that best marks one TokFSM state.
public struct StateCode: Equatable, Sendable, Codable {
    /// The state.
    public var state: Int
    /// The codebook ("L2.mlp", "L1.attn_preproj.g3").
    public var codebook: String
    /// The code.
    public var code: Int
    /// Of the tokens where the code fires, the share that end an occurrence of the state.
    public var precision: Double
    /// Of the tokens that end an occurrence of the state, the share where the code fires.
    public var recall: Double
    /// The best single neuron at the same recall (`CodeSearch.bestNeuron`), when neurons were collected.
    public var neuron: NeuronBaseline?

    public init(state: Int, codebook: String, code: Int, precision: Double, recall: Double, neuron: NeuronBaseline? = nil) {
        self.state = state
        self.codebook = codebook
        self.code = code
        self.precision = precision
        self.recall = recall
        self.neuron = neuron
    }
}

/// Codes of a codebook model trained on TokFSM, read against the machine's known states.
///
/// Token sequences become `TokenDocument`s whose text marks state boundaries: BOS is "<s>",
/// the first digit of each state carries a leading space and the others none ("<s> 60 62 09").
/// So the regular expression ` 6(2)` picks exactly the last digit token of each occurrence of
/// state 62 — the token where the model has read the whole state — and the ordinary code
/// search (`CodeSearch.search`) gives each code's precision and recall for that state.
public enum TokFSMCodes {
    /// The documents of `sequences` (BOS first, then whole states), as described above.
    public static func documents(_ sequences: [[Int]], fsm: TokFSM) -> [TokenDocument] {
        sequences.map { ids in
            var pieces: [String] = [], digit = 0
            for id in ids {
                if id == fsm.bosToken { pieces.append("<s>"); digit = 0; continue }
                pieces.append((digit == 0 ? " " : "") + (id >= 0 && id < fsm.base ? String(id, radix: fsm.base) : "?"))
                digit = (digit + 1) % fsm.digits
            }
            return TokenDocument(ids: ids, pieces: pieces)
        }
    }

    /// The pattern whose capture group is the last digit token of each occurrence of `state`.
    public static func pattern(for state: Int, fsm: TokFSM) -> String {
        let digits = fsm.tokens(of: state).map { String($0, radix: fsm.base) }
        return " " + digits.dropLast().joined() + "(" + digits.last! + ")"
    }

    /// Runs `codebooks` over `sequences` (rows of one length, one batched pass without
    /// gradients) and collects every single codebook's ids, its code vectors and, when `neurons`
    /// is true, each codebook layer's LayerNorm'd input as the neuron baseline's table. Throws
    /// `CodeAnalysisError.invalidOption` for no sequences or rows of different lengths.
    public static func collect(_ codebooks: CodebookModel, fsm: TokFSM, sequences: [[Int]], neurons: Bool = true) throws -> CollectedCodes {
        guard let length = sequences.first?.count, length > 0, sequences.allSatisfy({ $0.count == length }) else {
            throw CodeAnalysisError.invalidOption(field: "sequences", value: "\(sequences.map(\.count))",
                                                  allowed: "at least one non-empty sequence, all of one length")
        }
        let ids = IndexTensor(shape: [sequences.count, length], values: sequences.flatMap { $0 })
        let output = try Tensor.withoutGradients { try codebooks.forward(ids) }
        var seen = Set<ObjectIdentifier>()
        var collected: [CollectedCodebook] = []
        for single in codebooks.codebooks where seen.insert(ObjectIdentifier(single.layer)).inserted {
            guard let codes = output.codes[single.name] else {
                throw CodeAnalysisError.inconsistentData(field: "codebook '\(single.name)'", reason: "produced no codes (is it disabled?)")
            }
            let k = single.layer.k, rowLength = length * k
            let rows = (0..<sequences.count).map { Array(codes.values[($0 * rowLength)..<(($0 + 1) * rowLength)]) }
            collected.append(CollectedCodebook(name: single.name, codeCount: single.layer.codeCount, k: k, ids: rows,
                                               vectors: single.layer.codes.value.detached()))
        }
        var tables: [String: Tensor] = [:]
        if neurons {
            for entry in codebooks.entries {
                guard let normalized = entry.layer.lastSnap?.normalized else { continue }
                tables[entry.name] = normalized.reshaped([sequences.count * length, entry.layer.width]).detached()
            }
        }
        return try CollectedCodes(documents: documents(sequences, fsm: fsm), codebooks: collected, neurons: tables)
    }

    /// For every state, the code with the highest precision for it (ties: higher recall) among
    /// codes whose recall is at least `minRecall` — over all codebooks, or with `perCodebook`
    /// the best of each codebook — and, with neuron tables in `data`, the best neuron at the
    /// same recall beside it. States no code reaches with that recall are left out. Throws for
    /// `minRecall` outside 0 ... 1.
    public static func stateCodes(_ data: CollectedCodes, fsm: TokFSM, minRecall: Double = 0.5,
                                  perCodebook: Bool = false) throws -> [StateCode] {
        guard minRecall >= 0 && minRecall <= 1 else {
            throw CodeAnalysisError.invalidOption(field: "minRecall", value: "\(minRecall)", allowed: "a number in 0...1")
        }
        var list: [StateCode] = []
        for state in 0..<fsm.stateCount {
            let pattern = pattern(for: state, fsm: fsm)
            let matched = try CodeSearch.matchingTokens(pattern, in: data.documents)
            let result = try CodeSearch.search(data, matched: matched, pattern: pattern,
                                               options: CodeSearchOptions(minRecall: minRecall, sort: .precision))
            var taken = Set<String>(), best: [CodeMatch] = []
            for match in result.matches where perCodebook ? taken.insert(match.codebook).inserted : best.isEmpty { best.append(match) }
            guard !best.isEmpty else { continue }
            for match in best {
                let neuron = data.neurons.isEmpty ? nil : try CodeSearch.bestNeuron(data, matched: matched, recall: match.recall)
                list.append(StateCode(state: state, codebook: match.codebook, code: match.code, precision: match.precision,
                                      recall: match.recall, neuron: neuron))
            }
        }
        return list
    }
}
