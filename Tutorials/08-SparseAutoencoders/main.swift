// Tutorial 08 — Sparse autoencoders on SmolLM2: train a TopK SAE on an early layer's residual
// stream over Debian's fortunes, evaluate it on held-out fortunes (variance explained, L0, dead
// and dense latents, CE loss recovered), find an interpretable latent by a fixed rule, and steer
// generation by setting that latent high. See README.md beside this file.
//
//   08-SparseAutoencoders          quick mode (the one `make test` runs; under a minute on 2 cores)
//   08-SparseAutoencoders --full   1.5 million tokens of every other fortune file (issue 11's bar)
//   --layer N                      the residual stream after block N (default 3)
//
// The last line printed is a JSON object with the headline figures.
import CausalAbstraction
import Features
import Foundation
import Intervene
import Models
import Tensors

/// Prints a line at once (unbuffered, so progress shows as it happens also in a pipe).
func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
let full = CommandLine.arguments.contains("--full")
/// `--layer N`: the block whose output the SAE reads (default 3).
let layer: Int = {
    guard let i = CommandLine.arguments.firstIndex(of: "--layer") else { return 3 }
    guard i + 1 < CommandLine.arguments.count, let n = Int(CommandLine.arguments[i + 1]), n >= 0 else {
        say("--layer needs a block index ≥ 0"); exit(2)
    }
    return n
}()
let started = Date()

// 0. The corpus: Debian's fortunes (package `fortunes`; `make deps` installs it). Three files
//    held out for evaluation and the latent analysis; quick mode trains on three others, full
//    mode on every other fortune file (about 2.2 MB of text, 530 000 tokens).
let fortunes = "/usr/share/games/fortunes"
let heldOutFiles = ["wisdom", "science", "people"]
let trainFiles = full
    ? ((try? FileManager.default.contentsOfDirectory(atPath: fortunes)) ?? []).filter {
        !$0.hasSuffix(".dat") && !$0.hasSuffix(".u8") && !heldOutFiles.contains($0)
      }.sorted()
    : ["computers", "literature", "linux"]
if let missing = (trainFiles + heldOutFiles).first(where: { !FileManager.default.fileExists(atPath: "\(fortunes)/\($0)") }) {
    say("\(fortunes)/\(missing) is missing: install Debian's `fortunes` package (`sudo apt-get install fortunes`, or `make deps`)")
    exit(1)
}
/// The files' fortunes without their `%` separator lines, written to `path`.
func corpus(_ files: [String], to path: String) throws {
    let text = try files.map { try String(contentsOfFile: "\(fortunes)/\($0)", encoding: .utf8) }.joined(separator: "\n")
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).filter { $0 != "%" }
    try FileManager.default.createDirectory(atPath: ".cache", withIntermediateDirectories: true)
    try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
}
let trainPath = ".cache/tutorial08-train.txt", heldOutPath = ".cache/tutorial08-heldout.txt"
try corpus(trainFiles, to: trainPath)
try corpus(heldOutFiles, to: heldOutPath)

// 1. The model, loaded like tutorial 01, and a site early in its 30 layers.
let path = ProcessInfo.processInfo.environment["SMOLLM2_GGUF"] ?? ".cache/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
guard FileManager.default.fileExists(atPath: path) else {
    say("SmolLM2 is not at \(path): run `make smollm2` (or set SMOLLM2_GGUF)")
    exit(1)
}
let loaded = try ModelLoader.load(named: path)
let model = loaded.model, tokenizer = try loaded.requireTokenizer()
let site = Site(layer: layer, component: .blockOutput)
say("loaded \(model.modelType) (\(model.siteTable.layers) layers); the SAE reads \(site)")

// 2. Train a TopK SAE (k = 32, 8 × 576 = 4608 latents). Activations stream over 64-token windows
//    of the training text (read again from the start when it runs out); the first position of
//    each window and any attention sink (‖x‖ above 10 × its window's median) are left out.
let windows = try CorpusTokenWindows(path: trainPath, tokenizer: tokenizer, context: full ? 128 : 64, repeats: true)
let source = try SiteActivationSource(model: model, site: site, windows: windows, windowsPerPass: 8,
                                      positions: PositionSelection(skip: 1, sinkRatio: 10))
let batch = full ? 1024 : 256, trainingTokens = full ? 1_500_000 : 16_384
var options = SAETrainingOptions(activation: .topK(32), latents: 8 * source.width, steps: (trainingTokens + batch - 1) / batch)
options.batchSize = batch
options.learningRate = 3e-3
options.rowUses = full ? 1 : 3 // quick mode trains on each activation row three times
options.bufferRows = full ? 131_072 : 4096
var lastTenth = -1
let (sae, metrics) = try SAETraining.train(source: source, options: options) { p in
    let tenth = p.step * 10 / p.steps
    guard tenth != lastTenth else { return }
    lastTenth = tenth
    say(String(format: "  step %4d/%d: loss %.4g, variance explained %.3f, L0 %.1f, dead %.3f", p.step, p.steps,
               p.loss, p.varianceExplained, p.meanL0, p.deadFraction))
}
say(String(format: "trained %d → %d latents on %d tokens (%d activation rows read) in %.1f s",
           sae.width, sae.latents, metrics.tokens, metrics.rowsRead, metrics.seconds))

// 3. Evaluate on the held-out fortunes: reconstruction at the kept positions and the
//    next-token loss with the reconstruction spliced in, against the clean model and the site
//    zero-ablated. CE loss recovered = (CE_zero − CE_spliced) / (CE_zero − CE_clean).
let heldOutWindows = try CorpusTokenWindows(path: heldOutPath, tokenizer: tokenizer, context: 64)
let evaluation = try SAEEvaluation.evaluate(sae, model: model, site: site, windows: heldOutWindows,
                                            options: SAEEvaluationOptions(windowsPerPass: 8, maxTokens: full ? 10_000 : 2_000))
say(String(format: "held out (%d tokens): variance explained %.4f, mean L0 %.2f, dead %.3f, dense %.3f",
           evaluation.tokens, evaluation.varianceExplained, evaluation.meanL0, evaluation.deadFraction, evaluation.denseFraction))
say(String(format: "CE loss recovered %.4f (clean %.3f, spliced %.3f, zero-ablated %.3f)",
           evaluation.lossRecovered, evaluation.cleanLoss, evaluation.splicedLoss, evaluation.zeroLoss))

// 4. Find a latent. The latent analysis streams held-out windows once and keeps each latent's
//    top contexts. The rule: among latents whose top-10 contexts all fire on the same word (a
//    token with a letter in it), the most frequent one. The logit lens then reads the tokens
//    its decoder direction promotes (through the final norm's weight and the unembedding).
let analysisWindows = try CorpusTokenWindows(path: heldOutPath, tokenizer: tokenizer, context: 64)
var analysed = 0
let analysisTokens = full ? 20_000 : 4_000
let statistics = try LatentAnalysis.statistics(
    of: sae, model: model, site: site, options: LatentAnalysisOptions(top: 10, contextRadius: 6, logitTokens: 10),
    nextWindow: {
        guard analysed < analysisTokens, let w = try analysisWindows.next() else { return nil }
        analysed += w.count
        return w
    })
/// The word latent `i` fires on in all its top contexts (nil when they differ or hold no letter).
func sharedWord(_ i: Int) -> Int? {
    let contexts = statistics.contexts(of: i)
    guard contexts.count == statistics.topCount else { return nil }
    let middle = Set(contexts.map { $0.tokens[statistics.contextRadius] })
    guard middle.count == 1, let id = middle.first, tokenizer.decode([id]).contains(where: \.isLetter) else { return nil }
    return id
}
/// The steering prompt (step 5); a latent whose word the prompt already holds would measure nothing.
let prompt = "My favourite thing about the weekend is"
let promptIds = tokenizer.encode(prompt).ids
let candidates = (0..<sae.latents).filter { sharedWord($0).map { !promptIds.contains($0) } ?? false }
guard let latent = candidates.max(by: { statistics.firing[$0] < statistics.firing[$1] }), let word = sharedWord(latent) else {
    say("no latent's top contexts share a word"); exit(1)
}
func piece(_ id: Int) -> String { String(reflecting: tokenizer.decode([id])) }
say("\(candidates.count) latents fire on one word in all their top contexts; the most frequent is latent \(latent): "
    + "on \(piece(word)), \(String(format: "%.2f%%", 100 * statistics.frequency(of: latent))) of \(statistics.tokens) tokens")
for context in statistics.contexts(of: latent).prefix(5) {
    let r = statistics.contextRadius
    let text = { (ids: ArraySlice<Int>) in tokenizer.decode(ids.filter { $0 >= 0 }) }
    say(String(format: "  %6.2f  ", context.activation) + String(reflecting: text(context.tokens[..<r]) + "[" + text(context.tokens[r...r])
        + "]" + text(context.tokens[(r + 1)...])))
}
guard let decoder = model as? DecoderModel else { say("SmolLM2 did not load as a decoder"); exit(1) }
let lens = try LatentLogitLens.compute(decoder: sae.decoderWeight.value.narrowed(0, start: latent, length: 1), model: decoder, count: 8)
say("its decoder direction promotes " + lens.promoted(0).map { piece($0.id) }.joined(separator: ", "))

// 5. Steer: set the latent to 4 × its largest held-out activation at the prompt's last position
//    and at every generated token (each step writes at its new token); the SAE's reconstruction
//    error is added back, so nothing but that latent moves. (Set at every prompt position as
//    well, the prompt reads as a string of the word and the generation degenerates further.)
let steering = try IntervenableModel(config: IntervenableConfig(representations: [RepresentationConfig(layer: site.layer, component: .blockOutput)]),
                                     model: model, prebuilt: [0: try SparseAutoencoderIntervention(
                                        sae: sae, edits: [.set(latent: latent, value: 4 * statistics.maximum[latent])])])
let promptTensor = IndexTensor(shape: [1, promptIds.count], values: promptIds)
let lastPosition = UnitLocations.base([[promptIds.count - 1]])
let generation = try steering.generate(prompt: promptTensor, unitLocations: lastPosition, timing: .promptAndGeneratedTokens { _ in true },
                                       config: GenerationConfig(maxNewTokens: 20), outputOriginal: true)
let before = Array(generation.original!.sequences[0].dropFirst(promptIds.count))
let after = Array(generation.intervened.sequences[0].dropFirst(promptIds.count))
say("prompt: \(String(reflecting: prompt))")
say("  before: \(String(reflecting: tokenizer.decode(before)))")
say("  after:  \(String(reflecting: tokenizer.decode(after)))")

// The effect. A latent that fires on a word tells the later layers "the current token is that
// word", so with it set high the model should predict what follows the word: compare the
// next-token distribution after the prompt, without and with the latent, against the clean
// model's after the prompt with the word appended (KL(reference ‖ ·), in nats), and count the
// word's log-probability and occurrences in both generations.
let pass = try Tensor.withoutGradients { try steering.forward(base: .tokens(promptTensor), unitLocations: lastPosition, outputOriginal: true) }
let appended = try Tensor.withoutGradients {
    try model(.tokens(IndexTensor(shape: [1, promptIds.count + 1], values: promptIds + [word]))).logits
}
func nextLogProbabilities(_ logits: Tensor) -> [Float] { logits.atPosition(-1).reshaped([logits.shape[2]]).logSoftmax().scalars }
let reference = nextLogProbabilities(appended), clean = nextLogProbabilities(pass.original!.logits)
let steered = nextLogProbabilities(pass.intervened.logits)
func divergence(from q: [Float]) -> Double { zip(reference, q).reduce(0) { $0 + Double(exp($1.0)) * Double($1.0 - $1.1) } }
let klClean = divergence(from: clean), klSteered = divergence(from: steered)
let wordBefore = before.filter { $0 == word }.count, wordAfter = after.filter { $0 == word }.count
say(String(format: "KL(next token after prompt + %@ ‖ after prompt): %.3f without the latent, %.3f with it set high", piece(word), klClean, klSteered))
say(String(format: "log P(%@ | prompt): %.3f → %.3f; %@ among the generated tokens: %d → %d of %d", piece(word),
           Double(clean[word]), Double(steered[word]), piece(word), wordBefore, wordAfter, after.count))

// 6. The headline figures, and the pass bar: quick mode asks for a sane SAE and a visible
//    steering effect; full mode for the literature's bar (FVE ≥ 0.9 at L0 ≤ 32, CE recovered ≥ 0.9).
say(ExperimentRunner.jsonLine([
    "full": full ? 1 : 0, "variance_explained": evaluation.varianceExplained, "mean_l0": evaluation.meanL0,
    "ce_loss_recovered": evaluation.lossRecovered, "dead_fraction": evaluation.deadFraction, "dense_fraction": evaluation.denseFraction,
    "eval_tokens": Double(evaluation.tokens), "training_tokens": Double(metrics.tokens), "training_seconds": metrics.seconds,
    "latent": Double(latent), "seconds": Date().timeIntervalSince(started), "latent_frequency": statistics.frequency(of: latent),
    "kl_to_appended_word_before": klClean, "kl_to_appended_word_after": klSteered, "generation_changed": before == after ? 0 : 1,
    "word_generated_before": Double(wordBefore), "word_generated_after": Double(wordAfter),
]))
let passed = full
    ? evaluation.varianceExplained >= 0.9 && evaluation.meanL0 <= 32 && evaluation.lossRecovered >= 0.9
    : evaluation.varianceExplained > 0.5 && evaluation.lossRecovered > 0.5 && klSteered < klClean && before != after
if !passed { exit(1) }
