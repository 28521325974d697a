import Tensors

/// Transition accuracy of state trajectories under a `TokFSM` (the Codebook Features paper's
/// metric): the share of consecutive state pairs (s_i, s_{i+1}) that are edges of the machine.
public struct TransitionAccuracy: Equatable, Sendable {
    /// Valid transitions / all transitions, over every trajectory.
    public var overall: Double
    /// The same for the first transition of each trajectory only.
    public var first: Double
    /// The number of transitions scored.
    public var transitions: Int

    public init(overall: Double, first: Double, transitions: Int) {
        self.overall = overall
        self.first = first
        self.transitions = transitions
    }
}

/// TokFSM, the algorithmic task of Tamkin, Taufeeque and Goodman (2023): a random finite-state
/// machine of N states, each with E distinct successors taken with probability 1/E. A state s
/// is written as `digits` = ⌈log_b N⌉ base-b digit tokens, most significant first (100 states in
/// base 10: "07" for state 7), and a sequence is a BOS token (= b) followed by the digits of a
/// trajectory s_0, s_1, … with s_0 uniform and s_{i+1} uniform among the successors of s_i.
/// The vocabulary is b + 1 tokens: the digits 0..<b and BOS. Everything follows from the seed.
public struct TokFSM: Sendable, Equatable {
    /// N, the number of states.
    public let stateCount: Int
    /// E, the outgoing edges of every state.
    public let edgesPerState: Int
    /// b, the base states are written in.
    public let base: Int
    /// Digit tokens per state, ⌈log_b N⌉ (at least 1).
    public let digits: Int
    /// successors[s]: the E states reachable from s, ascending.
    public let successors: [[Int]]
    /// The seed that drew the edges.
    public let seed: UInt64
    private let edgeSet: [Set<Int>]

    /// The beginning-of-sequence token, b.
    public var bosToken: Int { base }
    /// Digits plus BOS, b + 1.
    public var vocabularySize: Int { base + 1 }

    /// Draws E distinct successors per state (self-loops allowed, as in the reference) with
    /// `seed`. Throws `TokFSMError` when N < 1, E is not in 1...N or b < 2.
    public init(states: Int, edges: Int, base: Int = 10, seed: UInt64) throws {
        guard states >= 1 else { throw TokFSMError.invalid(field: "states", value: "\(states)", allowed: "an integer ≥ 1") }
        guard edges >= 1 && edges <= states else {
            throw TokFSMError.invalid(field: "edges", value: "\(edges)", allowed: "1...\(states) (at most the number of states)")
        }
        guard base >= 2 else { throw TokFSMError.invalid(field: "base", value: "\(base)", allowed: "an integer ≥ 2") }
        var digits = 1, capacity = base
        while capacity < states { digits += 1; capacity *= base }
        var g = RandomGenerator(seed: seed)
        var successors: [[Int]] = []
        for _ in 0..<states {
            var pool = Array(0..<states)
            for i in 0..<edges { pool.swapAt(i, i + g.nextInt(below: states - i)) }
            successors.append(pool.prefix(edges).sorted())
        }
        self.stateCount = states
        self.edgesPerState = edges
        self.base = base
        self.digits = digits
        self.successors = successors
        self.seed = seed
        self.edgeSet = successors.map(Set.init)
    }

    /// Whether from → to is an edge; false for a state out of range (including −1, the marker
    /// of an undecodable state).
    public func isTransition(from: Int, to: Int) -> Bool {
        from >= 0 && from < stateCount && edgeSet[from].contains(to)
    }

    /// The digit tokens of `state`, most significant first.
    public func tokens(of state: Int) -> [Int] {
        var out = [Int](repeating: 0, count: digits), rest = state
        for i in stride(from: digits - 1, through: 0, by: -1) { out[i] = rest % base; rest /= base }
        return out
    }

    /// Reads states back from tokens: a leading BOS is skipped, then every whole group of
    /// `digits` tokens is one state; a group holding a non-digit token or a number ≥ N reads as
    /// −1 (never a valid transition); a trailing partial group is dropped.
    public func states(from tokens: [Int]) -> [Int] {
        let body = tokens.first == bosToken ? Array(tokens.dropFirst()) : tokens
        return stride(from: 0, to: body.count - digits + 1, by: digits).map { start in
            var value = 0
            for t in body[start..<start + digits] {
                guard t >= 0 && t < base else { return -1 }
                value = value * base + t
            }
            return value < stateCount ? value : -1
        }
    }

    /// A trajectory of `length` states: s_0 uniform, then uniform successors.
    public func trajectory(length: Int, using g: inout RandomGenerator) -> [Int] {
        guard length > 0 else { return [] }
        var states = [g.nextInt(below: stateCount)]
        while states.count < length { states.append(successors[states[states.count - 1]][g.nextInt(below: edgesPerState)]) }
        return states
    }

    /// BOS followed by the digit tokens of `trajectory`.
    public func sequence(of trajectory: [Int]) -> [Int] {
        [bosToken] + trajectory.flatMap { tokens(of: $0) }
    }

    /// `count` token sequences of `states` states each (1 + states·digits tokens), drawn on the
    /// fly from `seed` (the same seed gives the same batch).
    public func batch(count: Int, states: Int, seed: UInt64) -> [[Int]] {
        var g = RandomGenerator(seed: seed)
        return (0..<count).map { _ in sequence(of: trajectory(length: states, using: &g)) }
    }

    /// The transition accuracy of state trajectories (see `TransitionAccuracy`); trajectories of
    /// fewer than two states add nothing. All zero when nothing is scored.
    public func transitionAccuracy(_ trajectories: [[Int]]) -> TransitionAccuracy {
        var correct = 0, total = 0, firstCorrect = 0, firstTotal = 0
        for states in trajectories where states.count >= 2 {
            for i in 0..<(states.count - 1) where isTransition(from: states[i], to: states[i + 1]) {
                correct += 1
                if i == 0 { firstCorrect += 1 }
            }
            total += states.count - 1
            firstTotal += 1
        }
        return TransitionAccuracy(overall: total == 0 ? 0 : Double(correct) / Double(total),
                                  first: firstTotal == 0 ? 0 : Double(firstCorrect) / Double(firstTotal), transitions: total)
    }

    /// The transition accuracy of token sequences (decoded with `states(from:)`).
    public func transitionAccuracy(tokenSequences: [[Int]]) -> TransitionAccuracy {
        transitionAccuracy(tokenSequences.map { states(from: $0) })
    }
}

/// A bad TokFSM or training setting: the field, its value and what is allowed.
public enum TokFSMError: Error, Equatable, CustomStringConvertible {
    case invalid(field: String, value: String, allowed: String)

    public var description: String {
        switch self {
        case let .invalid(field, value, allowed): return "TokFSM: \(field) = \(value) is not allowed; expected \(allowed)"
        }
    }
}
