// Tutorial 07 — Codebook features on TokFSM: train a small GPT-NeoX decoder from scratch on a
// random finite-state machine's token sequences, then the same model with codebooks at every
// layer's attention (one codebook per head) and MLP output, and compare how often sampled
// trajectories follow the machine's edges. See README.md beside this file.
//
//   07-CodebookFeatures          quick mode (the one `make test` runs; about a minute on 2 cores)
//   07-CodebookFeatures --full   the paper's setting: 100 states, 10 edges, base 10, 4 layers
//   07-CodebookFeatures --full --steps 500   the same with fewer training steps
//   07-CodebookFeatures --full --weights W --continue 20000 --plain-only   train W/plain further
//   07-CodebookFeatures --full --weights W --from-plain 4000 --continue 8000   train W's codebook model further
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

/// Prints a line at once (unbuffered, so progress shows as it happens also in a pipe).
func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
let arguments = Array(CommandLine.arguments.dropFirst())
let full = arguments.contains("--full")

/// The value after `flag` in the arguments, parsed by `parse`; exits with status 2 when it is missing or bad.
func option<T>(_ flag: String, in arguments: [String], _ what: String, _ parse: (String) -> T?) -> T? {
    guard let i = arguments.firstIndex(of: flag) else { return nil }
    guard i + 1 < arguments.count, let value = parse(arguments[i + 1]) else {
        FileHandle.standardError.write("\(flag) needs \(what)\n".data(using: .utf8)!)
        exit(2)
    }
    return value
}

/// The mode's setting; `--steps N`, `--batch N`, `--lr X`, `--warmup N`, `--decay` and
/// `--replace-dead N` override the training's.
func makeSetting(full: Bool, arguments: [String]) -> Setting {
    var setting = full
        ? Setting(states: 100, edges: 10, base: 10, width: 128, layers: 4, heads: 4, codes: 1000,
                  training: TokFSMTrainingOptions(steps: 3000, batchSize: 32, statesPerSequence: 32, learningRate: 3e-3,
                                                  warmupSteps: 100, decay: true, replaceDeadCodesEvery: 200), threshold: 0.9)
        : Setting(states: 16, edges: 4, base: 10, width: 32, layers: 2, heads: 4, codes: 64,
                  training: TokFSMTrainingOptions(steps: 2000, batchSize: 32, statesPerSequence: 12, learningRate: 3e-3,
                                                  replaceDeadCodesEvery: 200), threshold: 0.8)
    let positive: (String) -> Int? = { Int($0).flatMap { $0 > 0 ? $0 : nil } }
    if let steps = option("--steps", in: arguments, "a positive integer", positive) { setting.training.steps = steps }
    if let batch = option("--batch", in: arguments, "a positive integer", positive) { setting.training.batchSize = batch }
    if let warmup = option("--warmup", in: arguments, "an integer ≥ 0", { Int($0).flatMap { $0 >= 0 ? $0 : nil } }) {
        setting.training.warmupSteps = warmup
    }
    if let lr = option("--lr", in: arguments, "a number > 0", { Float($0).flatMap { $0 > 0 && $0.isFinite ? $0 : nil } }) {
        setting.training.learningRate = lr
    }
    if arguments.contains("--decay") { setting.training.decay = true }
    if let every = option("--replace-dead", in: arguments, "an integer ≥ 0 (0: never)", { Int($0).flatMap { $0 >= 0 ? $0 : nil } }) {
        setting.training.replaceDeadCodesEvery = every
    }
    return setting
}
let setting = makeSetting(full: full, arguments: arguments)

// 1. The machine: N states, E successors each, every state written as base-b digit tokens.
let fsm = try TokFSM(states: setting.states, edges: setting.edges, base: setting.base, seed: 42)
let example = fsm.batch(count: 1, states: 6, seed: 0)[0]
say("TokFSM: \(fsm.stateCount) states, \(fsm.edgesPerState) edges each, \(fsm.digits) base-\(fsm.base) digits per state")
say("example: BOS " + fsm.states(from: example).map { s in fsm.tokens(of: s).map(String.init).joined() }.joined(separator: " "))
say("state 0 -> \(fsm.successors[0])")

func newModel() throws -> DecoderModel {
    try CodebookTraining.gptNeoX(for: fsm, width: setting.width, layers: setting.layers, heads: setting.heads,
                                 contextLength: 1 + fsm.digits * setting.training.statesPerSequence, seed: 7)
}
func describe(_ name: String, _ report: TrainingReport, _ accuracy: TransitionAccuracy) {
    say(String(format: "%@: loss %.3f, %.1f s, %.0f tokens/s, transition accuracy %.3f (first %.3f, %d transitions)",
                 name, report.recentLoss, report.seconds, report.tokensPerSecond, accuracy.overall, accuracy.first, accuracy.transitions))
}
let sample = (count: 64, states: setting.training.statesPerSequence)

// 2. The plain model: next-token cross-entropy only.
let plain = try newModel()
/// Prints the mean loss of every tenth of the run (plain lines, so logs stay readable).
func lossPrinter(_ name: String) -> (Int, Float) -> Void {
    let every = max(1, setting.training.steps / 10)
    var sum: Float = 0
    return { step, loss in
        sum += loss
        if (step + 1) % every == 0 {
            say(String(format: "  %@ step %d: loss %.3f", name, step + 1, sum / Float(every)))
            sum = 0
        }
    }
}
/// With `--weights DIR`, a trained model's weights (and its training report) are written to
/// DIR/NAME.safetensors, and read back instead of training when that file exists — so the
/// analysis below can be re-run without training again.
let weightsFolder = option("--weights", in: arguments, "a folder", { $0 })
/// `--continue N` (with `--weights`): train the saved models N more steps from their weights
/// (fresh batches, a fresh Adam), writing the weights back every 500 steps — a long run can be
/// stopped and continued. With `--plain-only` the plain model; otherwise the plain model is read
/// as saved and the codebook model (e.g. `--from-plain N`'s) is trained further.
let continueSteps = option("--continue", in: arguments, "a positive number of steps", { Int($0).flatMap { $0 > 0 ? $0 : nil } })
/// Writes `model`'s weights with a training report in the metadata.
func save(_ model: DecoderModel, _ report: TrainingReport, to path: String) throws {
    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    let items = Dictionary(uniqueKeysWithValues: model.namedParameters.map { ($0.key, SafeTensorsWriter.Item.float($0.parameter.value.detached())) })
    try SafeTensorsWriter.write(items, metadata: [
        "steps": "\(report.steps)", "tokens": "\(report.tokens)", "seconds": "\(report.seconds)", "tokens_per_second": "\(report.tokensPerSecond)",
        "final_loss": "\(report.finalLoss)", "recent_loss": "\(report.recentLoss)", "final_auxiliary_loss": "\(report.finalAuxiliaryLoss)",
    ], to: path + ".partial")
    guard rename(path + ".partial", path) == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path]) }
}
func trainOrLoad(_ model: DecoderModel, codebooks: CodebookModel?, name: String,
                 options: TokFSMTrainingOptions = setting.training) throws -> TrainingReport {
    let path = weightsFolder.map { $0 + "/" + name + ".safetensors" }
    if let path, FileManager.default.fileExists(atPath: path) {
        let file = try SafeTensorsFile(path: path)
        for (key, parameter) in model.namedParameters { parameter.assign(try file.tensor(key)) }
        let number = { (key: String) in Double(file.metadata[key] ?? "") ?? 0 }
        say("\(name): weights read from \(path) (trained earlier)")
        let earlier = TrainingReport(steps: Int(number("steps")), tokens: Int(number("tokens")), seconds: number("seconds"),
                                     tokensPerSecond: number("tokens_per_second"), finalLoss: Float(number("final_loss")),
                                     recentLoss: Float(number("recent_loss")), finalAuxiliaryLoss: Float(number("final_auxiliary_loss")))
        // `--continue` trains the plain model with `--plain-only`, the codebook model without it.
        guard let more = continueSteps, (codebooks == nil) == arguments.contains("--plain-only") else { return earlier }
        var options = options
        (options.steps, options.seed) = (more, UInt64(earlier.steps))
        let printer = lossPrinter(name)
        let started = Date()
        /// The earlier report with `steps` more steps of this run added.
        func combined(_ steps: Int, last: Float) -> TrainingReport {
            let tokens = earlier.tokens + steps * options.batchSize * fsm.digits * options.statesPerSequence
            let seconds = earlier.seconds + Date().timeIntervalSince(started)
            return TrainingReport(steps: earlier.steps + steps, tokens: tokens, seconds: seconds, tokensPerSecond: Double(tokens) / seconds,
                                  finalLoss: last, recentLoss: last, finalAuxiliaryLoss: 0)
        }
        var recent: [Float] = []
        let report = try CodebookTraining.fit(model, codebooks: codebooks, on: fsm, options: options) { step, loss in
            printer(step, loss)
            recent = Array((recent + [loss]).suffix(100))
            if (step + 1) % 500 == 0, step + 1 < more {
                let mean = recent.reduce(0, +) / Float(recent.count)
                do { try save(model, combined(step + 1, last: mean), to: path) } catch { say("checkpoint not written: \(error)") }
            }
        }
        let total = combined(more, last: report.recentLoss)
        try save(model, total, to: path)
        return total
    }
    let report = try CodebookTraining.fit(model, codebooks: codebooks, on: fsm, options: options, progress: lossPrinter(name))
    if let path { try save(model, report, to: path) }
    return report
}
let plainReport = try trainOrLoad(plain, codebooks: nil, name: "plain")
let plainAccuracy = try CodebookTraining.sampledAccuracy(plain, fsm: fsm, count: sample.count, states: sample.states, seed: 1)
describe("without codebooks", plainReport, plainAccuracy)
if arguments.contains("--plain-only") { exit(0) }

// 3. The same model with codebooks: one per attention head before the output projection
//    (attn_preproj, groups = heads) and one at each MLP output, k = 1, trained with the LM loss
//    plus the codebooks' auxiliary loss (aeloss: the codebook MSE). By default it is trained
//    from scratch like the plain model; with `--from-plain N` the codebooks are inserted into a
//    copy of the trained plain model instead, initialised by k-means on its activations, and
//    codebooks and model are fine-tuned for N steps (the paper's recipe for language models).
let fromPlainSteps = option("--from-plain", in: arguments, "a positive number of steps", { Int($0).flatMap { $0 > 0 ? $0 : nil } })
let withCodes = try newModel()
if fromPlainSteps != nil {
    let trained = Dictionary(uniqueKeysWithValues: plain.namedParameters.map { ($0.key, $0.parameter) })
    for (key, parameter) in withCodes.namedParameters { parameter.assign(trained[key]!.value.detached()) }
}
// `--at mlp` (or `attn_preproj`) keeps codebooks at one of the two places only.
let places = option("--at", in: arguments, "attn_preproj, mlp or attn_preproj,mlp", { text -> [CodebookPlacement]? in
    let list = text.split(separator: ",").compactMap { try? CodebookPlacement(parsing: String($0)) }
    return list.isEmpty || list.count != text.split(separator: ",").count ? nil : list
}) ?? [.attentionPreprojection, .mlp]
let codebooks = try CodebookModel(model: withCodes, specs: places.map { place in
    CodebookSpec(placement: place, codeCount: setting.codes, groups: place == .attentionPreprojection ? -1 : 1)
}, seed: 3)
let codebookName = "codebooks" + (fromPlainSteps != nil ? "-from-plain" : "") + (places.count == 1 ? "-" + places[0].rawValue : "")
let codebookReport: TrainingReport
if let steps = fromPlainSteps {
    _ = try codebooks.initializeWithKMeans(sequences: fsm.batch(count: 256, states: sample.states, seed: 3_000_000), iterations: 10,
                                           maxRows: 8192, seed: 3)
    var tuning = setting.training
    (tuning.steps, tuning.learningRate, tuning.warmupSteps, tuning.decay) = (steps, 1e-3, min(50, steps / 10), true)
    codebookReport = try trainOrLoad(withCodes, codebooks: codebooks, name: codebookName, options: tuning)
} else {
    codebookReport = try trainOrLoad(withCodes, codebooks: codebooks, name: codebookName)
}
let codebookAccuracy = try CodebookTraining.sampledAccuracy(withCodes, fsm: fsm, count: sample.count, states: sample.states, seed: 1)
describe("with codebooks", codebookReport, codebookAccuracy)

// 4. Per-codebook metrics on fresh sequences: active codes, dead-code fraction, reconstruction MSE.
let metrics = try CodebookTraining.metrics(codebooks, sequences: fsm.batch(count: 64, states: sample.states, seed: 1_000_000))
say("codebook              active / codes   dead   recon. MSE")
for m in metrics {
    let name = m.name.padding(toLength: 22, withPad: " ", startingAt: 0)
    say(name + String(format: "%5d / %-6d  %.2f   %.4f", m.activeCodes, m.codeCount, m.deadFraction, m.reconstructionMSE))
}
let meanDead = metrics.map(\.deadFraction).reduce(0, +) / Double(max(metrics.count, 1))
let meanMSE = metrics.map(\.reconstructionMSE).reduce(0, +) / Double(max(metrics.count, 1))

// 5. Which codes mean a state? Run the codebook model over fresh sequences and, for every state,
//    search the codes firing on the last digit of its occurrences (the regex " 6(2)" picks the
//    token "2" of state 62; see TokFSMCodes). A state code is the most precise code of some
//    codebook with recall ≥ 0.5; the best single neuron at the same recall is its baseline.
/// The codes of the first `count` documents of `codes` (all when it has fewer): documents, every
/// codebook's ids and the neuron tables' rows cut to them.
func firstSequences(_ codes: CollectedCodes, _ count: Int) throws -> CollectedCodes {
    let documents = Array(codes.documents.prefix(count))
    let rows = documents.reduce(0) { $0 + $1.ids.count }
    let books = codes.codebooks.map { CollectedCodebook(name: $0.name, codeCount: $0.codeCount, k: $0.k, ids: Array($0.ids.prefix(count)), vectors: $0.vectors) }
    let neurons = codes.neurons.mapValues { t in Tensor(shape: [rows, t.shape[1]], values: Array(t.scalars.prefix(rows * t.shape[1]))) }
    return try CollectedCodes(documents: documents, codebooks: books, neurons: neurons)
}
let analysisSequences = fsm.batch(count: full ? 256 : 128, states: sample.states, seed: 2_000_000)
let collected = try TokFSMCodes.collect(codebooks, fsm: fsm, sequences: analysisSequences)
if let folder = option("--cache", in: arguments, "a folder", { $0 }) {
    // The same codes as a codebook cache: `intervene codebook search --cache DIR --regex ' 6(2)'` finds state 62's codes.
    // `--cache-sequences N` writes the first N analysed sequences only (a small cache, e.g. a test fixture).
    let kept = option("--cache-sequences", in: arguments, "a positive integer", { Int($0).flatMap { $0 > 0 ? $0 : nil } }) ?? analysisSequences.count
    let written = try firstSequences(collected, kept)
    try CodebookCache.write(written, to: folder, model: .init(type: "gpt_neox", fingerprint: CodebookBundle.baseFingerprint(withCodes),
                                                              source: "07-CodebookFeatures TokFSM(states: \(fsm.stateCount), edges: \(fsm.edgesPerState), seed: 42)"))
    say("codes of \(written.documents.count) sequences written to the cache folder \(folder)")
}
let perCodebook = try TokFSMCodes.stateCodes(collected, fsm: fsm, minRecall: 0.5, perCodebook: true)
let best = Dictionary(grouping: perCodebook, by: \.state).mapValues { $0.max { ($0.precision, $0.recall) < ($1.precision, $1.recall) }! }
let precise = best.values.filter { $0.precision >= 0.9 }
let coverage = Double(precise.count) / Double(fsm.stateCount)
let meanCodePrecision = best.values.map(\.precision).reduce(0, +) / Double(max(best.count, 1))
let neuronPrecisions = best.values.compactMap { $0.neuron?.precision }
let meanNeuronPrecision = neuronPrecisions.reduce(0, +) / Double(max(neuronPrecisions.count, 1))
say(String(format: "state codes: %d of %d states have a code with precision ≥ 0.9 (%.0f%%); mean best precision %.3f vs best neuron %.3f at matched recall",
             precise.count, fsm.stateCount, 100 * coverage, meanCodePrecision, meanNeuronPrecision))
for code in best.values.sorted(by: { $0.state < $1.state }).prefix(5) {
    say(String(format: "  state %2d: %@ code %4d  precision %.3f recall %.3f | best neuron %@ #%d precision %.3f",
                 code.state, code.codebook, code.code, code.precision, code.recall, code.neuron?.table ?? "-",
                 code.neuron?.neuron ?? -1, code.neuron?.precision ?? 0))
}

// 5b. The reference's own reading (its notebooks' first-state partition): every state alone,
//     BOS plus its digits; the codes each codebook picks at the last digit group the states. A
//     code whose group is one state has precision 1 and recall 1 for it over these inputs.
let partitions = try TokFSMCodes.firstStatePartitions(codebooks, fsm: fsm)
let isolated = partitions.reduce(into: Set<Int>()) { $0.formUnion($1.isolatedStates) }
let isolatedShare = Double(isolated.count) / Double(fsm.stateCount)
if let widest = partitions.max(by: { $0.isolatedStates.count < $1.isolatedStates.count }) {
    say(String(format: "first-state partition: %d of %d states have a code of their own in some codebook (%.0f%%); %@ alone isolates %d",
                 isolated.count, fsm.stateCount, 100 * isolatedShare, widest.codebook, widest.isolatedStates.count))
}

// 6. Steer with codes: at the last token of a prompt, force the codes of another state (every
//    codebook's precise code for it) and check that the next state the model writes is one of
//    that state's successors.
let steeringCodes = perCodebook.filter { $0.precision >= 0.9 }
let steeringStates = Set(steeringCodes.map(\.state)).count
// Forcing needs precise codes for two states at least (a prompt's state and another to force).
let forcing = steeringStates >= 2 ? try TokFSMCodes.forcing(codebooks, fsm: fsm, codes: steeringCodes, trials: full ? 200 : 100, seed: 5) : nil
if let forcing {
    say(String(format: "forcing a state's codes: next state follows the forced state in %.0f%% of %d trials (%.0f%% without forcing; follows the prompt's own state %.0f%%)",
                 100 * forcing.followedTarget, forcing.trials, 100 * forcing.unforcedFollowedTarget, 100 * forcing.followedPrompt))
} else {
    say("forcing a state's codes: not measured — precise codes (precision ≥ 0.9) exist for \(steeringStates) state(s), and forcing needs two at least")
}

// 6b. The same with the first-state partition's codes: every codebook that isolates the target
//     state forces its code for it (each such code fires on that state alone); and, as a
//     transplant, every codebook forces the code the target state's own input selects there.
let isolatingCodes = partitions.flatMap(\.isolatingCodes)
let isolatedForcing = Set(isolatingCodes.map(\.state)).count >= 2
    ? try TokFSMCodes.forcing(codebooks, fsm: fsm, codes: isolatingCodes, trials: full ? 200 : 100, seed: 5) : nil
let transplant = try TokFSMCodes.forcing(codebooks, fsm: fsm, codes: partitions.flatMap(\.codeOfEveryState), trials: full ? 200 : 100, seed: 5)
if let isolatedForcing {
    say(String(format: "forcing the codes that isolate a state (first-state partition): next state follows the forced state in %.0f%% of %d trials (%.0f%% without)",
                 100 * isolatedForcing.followedTarget, isolatedForcing.trials, 100 * isolatedForcing.unforcedFollowedTarget))
}
say(String(format: "forcing every codebook's code for a state (its code read alone, a transplant): %.0f%% of %d trials (%.0f%% without)",
             100 * transplant.followedTarget, transplant.trials, 100 * transplant.unforcedFollowedTarget))

// The bar: quick mode — both models learn the machine (accuracy ≥ 0.8); full mode — the paper's
// claims: codebooks cost at most 3 points of accuracy, ≥ 80% of states have a code of precision
// ≥ 0.9, and forcing a state's codes steers the next state in ≥ 80% of trials.
let checks: [(String, Bool)] = full
    ? [("codebook accuracy within 3 points of the plain model's", abs(plainAccuracy.overall - codebookAccuracy.overall) <= 0.03),
       ("≥ 80% of states have a code with precision ≥ 0.9", coverage >= 0.8),
       ("forcing steers the next state in ≥ 80% of trials", (forcing?.followedTarget ?? 0) >= 0.8)]
    : [("both accuracies ≥ \(setting.threshold)", plainAccuracy.overall >= setting.threshold && codebookAccuracy.overall >= setting.threshold)]
for (claim, holds) in checks { say((holds ? "pass: " : "FAIL: ") + claim) }

say(ExperimentRunner.jsonLine([
    "transition_accuracy_plain": plainAccuracy.overall, "transition_accuracy_codebooks": codebookAccuracy.overall,
    "chance": Double(fsm.edgesPerState) / Double(fsm.stateCount), "train_seconds_plain": plainReport.seconds,
    "train_seconds_codebooks": codebookReport.seconds, "tokens_per_second_plain": plainReport.tokensPerSecond,
    "tokens_per_second_codebooks": codebookReport.tokensPerSecond, "mean_dead_code_fraction": meanDead,
    "mean_reconstruction_mse": meanMSE, "first_transition_accuracy_plain": plainAccuracy.first,
    "first_transition_accuracy_codebooks": codebookAccuracy.first, "states_with_precise_code": coverage, "mean_state_code_precision": meanCodePrecision,
    "mean_best_neuron_precision": meanNeuronPrecision, "states_isolated_first_state": isolatedShare,
    "forcing_isolating_codes_followed": isolatedForcing?.followedTarget ?? 0, "forcing_every_codebook_followed": transplant.followedTarget, "forcing_followed": forcing?.followedTarget ?? 0,
    "forcing_chance": forcing?.unforcedFollowedTarget ?? 0, "forcing_trials": Double(forcing?.trials ?? 0), "full": full ? 1 : 0,
]))
if checks.contains(where: { !$0.1 }) { exit(1) }
