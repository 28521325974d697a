// Tutorial 07 — Codebook features on TokFSM: train a small GPT-NeoX decoder from scratch on a
// random finite-state machine's token sequences, then the same model with codebooks at every
// layer's attention (one codebook per head) and MLP output, and compare how often sampled
// trajectories follow the machine's edges. See README.md beside this file.
//
//   07-CodebookFeatures          quick mode (the one `make test` runs; about a minute on 2 cores)
//   07-CodebookFeatures --full   the paper's setting: 100 states, 10 edges, base 10, 4 layers
//   07-CodebookFeatures --full --steps 500   the same with fewer training steps
//
// The last line printed is a JSON object with the headline figures.
import CausalAbstraction
import Features
import Foundation
import Models
import Tensors

struct Setting {
    var states: Int, edges: Int, base: Int
    var width: Int, layers: Int, heads: Int, codes: Int
    var training: TokFSMTrainingOptions
    var threshold: Double
}

let arguments = Array(CommandLine.arguments.dropFirst())
let full = arguments.contains("--full")

/// The mode's setting; `--steps N` overrides the number of training steps (a shorter full run).
func makeSetting(full: Bool, arguments: [String]) -> Setting {
    var setting = full
        ? Setting(states: 100, edges: 10, base: 10, width: 128, layers: 4, heads: 4, codes: 1000,
                  training: TokFSMTrainingOptions(steps: 3000, batchSize: 32, statesPerSequence: 32, learningRate: 3e-3), threshold: 0.9)
        : Setting(states: 16, edges: 4, base: 10, width: 32, layers: 2, heads: 4, codes: 64,
                  training: TokFSMTrainingOptions(steps: 2000, batchSize: 32, statesPerSequence: 12, learningRate: 3e-3), threshold: 0.8)
    if let i = arguments.firstIndex(of: "--steps") {
        guard i + 1 < arguments.count, let steps = Int(arguments[i + 1]), steps > 0 else {
            FileHandle.standardError.write("--steps needs a positive integer\n".data(using: .utf8)!)
            exit(2)
        }
        setting.training.steps = steps
    }
    return setting
}
let setting = makeSetting(full: full, arguments: arguments)

// 1. The machine: N states, E successors each, every state written as base-b digit tokens.
let fsm = try TokFSM(states: setting.states, edges: setting.edges, base: setting.base, seed: 42)
let example = fsm.batch(count: 1, states: 6, seed: 0)[0]
print("TokFSM: \(fsm.stateCount) states, \(fsm.edgesPerState) edges each, \(fsm.digits) base-\(fsm.base) digits per state")
print("example: BOS " + fsm.states(from: example).map { s in fsm.tokens(of: s).map(String.init).joined() }.joined(separator: " "))
print("state 0 -> \(fsm.successors[0])")

func newModel() throws -> DecoderModel {
    try CodebookTraining.gptNeoX(for: fsm, width: setting.width, layers: setting.layers, heads: setting.heads,
                                 contextLength: 1 + fsm.digits * setting.training.statesPerSequence, seed: 7)
}
func describe(_ name: String, _ report: TrainingReport, _ accuracy: TransitionAccuracy) {
    print(String(format: "%@: loss %.3f, %.1f s, %.0f tokens/s, transition accuracy %.3f (first %.3f, %d transitions)",
                 name, report.recentLoss, report.seconds, report.tokensPerSecond, accuracy.overall, accuracy.first, accuracy.transitions))
}
let sample = (count: 64, states: setting.training.statesPerSequence)

// 2. The plain model: next-token cross-entropy only.
let plain = try newModel()
let plainReport = try CodebookTraining.fit(plain, on: fsm, options: setting.training)
let plainAccuracy = try CodebookTraining.sampledAccuracy(plain, fsm: fsm, count: sample.count, states: sample.states, seed: 1)
describe("without codebooks", plainReport, plainAccuracy)

// 3. The same model with codebooks: one per attention head before the output projection
//    (attn_preproj, groups = heads) and one at each MLP output, k = 1, trained with the LM loss
//    plus the codebooks' auxiliary loss (aeloss: the codebook MSE).
let withCodes = try newModel()
let codebooks = try CodebookModel(model: withCodes, specs: [
    CodebookSpec(placement: .attentionPreprojection, codeCount: setting.codes, groups: -1),
    CodebookSpec(placement: .mlp, codeCount: setting.codes),
], seed: 3)
let codebookReport = try CodebookTraining.fit(withCodes, codebooks: codebooks, on: fsm, options: setting.training)
let codebookAccuracy = try CodebookTraining.sampledAccuracy(withCodes, fsm: fsm, count: sample.count, states: sample.states, seed: 1)
describe("with codebooks", codebookReport, codebookAccuracy)

// 4. Per-codebook metrics on fresh sequences: active codes, dead-code fraction, reconstruction MSE.
let metrics = try CodebookTraining.metrics(codebooks, sequences: fsm.batch(count: 64, states: sample.states, seed: 1_000_000))
print("codebook              active / codes   dead   recon. MSE")
for m in metrics {
    let name = m.name.padding(toLength: 22, withPad: " ", startingAt: 0)
    print(name + String(format: "%5d / %-6d  %.2f   %.4f", m.activeCodes, m.codeCount, m.deadFraction, m.reconstructionMSE))
}
let meanDead = metrics.map(\.deadFraction).reduce(0, +) / Double(max(metrics.count, 1))
let meanMSE = metrics.map(\.reconstructionMSE).reduce(0, +) / Double(max(metrics.count, 1))

print(ExperimentRunner.jsonLine([
    "transition_accuracy_plain": plainAccuracy.overall, "transition_accuracy_codebooks": codebookAccuracy.overall,
    "chance": Double(fsm.edgesPerState) / Double(fsm.stateCount), "train_seconds_plain": plainReport.seconds,
    "train_seconds_codebooks": codebookReport.seconds, "tokens_per_second_plain": plainReport.tokensPerSecond,
    "tokens_per_second_codebooks": codebookReport.tokensPerSecond, "mean_dead_code_fraction": meanDead,
    "mean_reconstruction_mse": meanMSE, "full": full ? 1 : 0,
]))
if plainAccuracy.overall < setting.threshold || codebookAccuracy.overall < setting.threshold { exit(1) }
