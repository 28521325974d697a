import Models
import Tensors

/// What forcing state codes did to the next state a codebook model writes.
public struct CodeForcingReport: Equatable, Sendable, Codable {
    /// Trials run.
    public var trials: Int
    /// With the target state's codes forced: the share of trials whose next state is a
    /// successor of the target state (the codes steered the model).
    public var followedTarget: Double
    /// With the codes forced: the share whose next state is a successor of the prompt's own
    /// last state.
    public var followedPrompt: Double
    /// Without forcing: the share whose next state happens to be a successor of the target
    /// state — the chance level `followedTarget` is read against.
    public var unforcedFollowedTarget: Double
}

extension TokFSMCodes {
    /// Steering by codes: each trial draws a trajectory of `promptStates` states (BOS + its
    /// digits as the prompt) and a target state different from the prompt's last state among
    /// those `codes` names, forces every code listed for the target at the prompt's last token
    /// (all k slots, the prompt's pass only; the cache carries the forced activations on),
    /// generates one state greedily and reads it back. Seeded. Throws
    /// `CodeAnalysisError.invalidOption` for fewer than one trial, fewer than one prompt state
    /// or codes naming fewer than two states, and the codebook errors of a bad code.
    public static func forcing(_ codebooks: CodebookModel, fsm: TokFSM, codes: [StateCode], trials: Int,
                               promptStates: Int = 8, seed: UInt64 = 0) throws -> CodeForcingReport {
        guard trials >= 1 else { throw CodeAnalysisError.invalidOption(field: "trials", value: "\(trials)", allowed: "an integer ≥ 1") }
        guard promptStates >= 1 else {
            throw CodeAnalysisError.invalidOption(field: "promptStates", value: "\(promptStates)", allowed: "an integer ≥ 1")
        }
        let byState = Dictionary(grouping: codes, by: \.state)
        let targets = byState.keys.sorted()
        guard targets.count >= 2 else {
            throw CodeAnalysisError.invalidOption(field: "codes", value: "codes for \(targets.count) state(s)", allowed: "codes for at least two states")
        }
        var g = RandomGenerator(seed: seed)
        let config = GenerationConfig(maxNewTokens: fsm.digits, strategy: .greedy, seed: seed)
        var followedTarget = 0, followedPrompt = 0, unforcedTarget = 0
        for _ in 0..<trials {
            let trajectory = fsm.trajectory(length: promptStates, using: &g)
            let last = trajectory[trajectory.count - 1]
            var target = targets[g.nextInt(below: targets.count)]
            while target == last { target = targets[g.nextInt(below: targets.count)] }
            let prompt = fsm.sequence(of: trajectory)
            let ids = IndexTensor(shape: [1, prompt.count], values: prompt)
            var edits: [String: CodeEdit] = [:]
            for code in byState[target]! {
                edits[code.codebook, default: CodeEdit()].patches.append(CodePatch(positions: [-1], slot: nil, code: code.code))
            }
            let forced = try codebooks.generate(prompt: ids, edits: edits, config: config)
            let plain = try codebooks.generate(prompt: ids, edits: [:], config: config)
            let next = nextState(forced.sequences[0], after: prompt.count, fsm: fsm)
            let unforcedNext = nextState(plain.sequences[0], after: prompt.count, fsm: fsm)
            if fsm.isTransition(from: target, to: next) { followedTarget += 1 }
            if fsm.isTransition(from: last, to: next) { followedPrompt += 1 }
            if fsm.isTransition(from: target, to: unforcedNext) { unforcedTarget += 1 }
        }
        let n = Double(trials)
        return CodeForcingReport(trials: trials, followedTarget: Double(followedTarget) / n, followedPrompt: Double(followedPrompt) / n,
                                 unforcedFollowedTarget: Double(unforcedTarget) / n)
    }

    /// The state written by the tokens after `start` (−1 when they do not spell one).
    static func nextState(_ tokens: [Int], after start: Int, fsm: TokFSM) -> Int {
        fsm.states(from: Array(tokens.dropFirst(start))).first ?? -1
    }
}
