// Tutorial 06 — Causal tracing (Meng et al. 2022, "Locating and Editing Factual Associations in
// GPT") on SmolLM2-135M-Instruct: where does the model carry "Eiffel Tower → Paris"? Noise the
// subject's token embeddings, restore one clean activation at a time, and see which (layer,
// position) brings the answer back. Then activation patching between two contrastive prompts.
// See README.md beside this file.
//
//   06-CausalTracing              quick mode (what `make test` runs): 3 prompts, 1 noise sample,
//                                 the residual stream (block_output) only
//   06-CausalTracing --full       every prompt the model answers, 10 samples, and the attention
//                                 and MLP outputs over windows of 10 layers
//   --samples N, --prompts N      override the samples and the number of prompts
//   06-CausalTracing --out DIR    the heatmaps and JSON into DIR (default: a temporary folder)
//
// The last line printed is a JSON object with the headline figures.
import CausalAbstraction
import Foundation
import Models
import Tensors

/// Prints a line at once (unbuffered, so progress shows as it happens also in a pipe).
func say(_ line: String = "") { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
var arguments = Array(CommandLine.arguments.dropFirst())[...], full = false
var out = (NSTemporaryDirectory() as NSString).appendingPathComponent("intervene-tutorial-06")
var samplesGiven: Int?, promptsGiven: Int?
func refuse(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(2)
}
while let flag = arguments.popFirst() {
    if flag == "--full" { full = true; continue }
    guard ["--out", "--samples", "--prompts"].contains(flag) else { refuse("unknown argument '\(flag)'; allowed: --full, --out FOLDER, --samples N, --prompts N") }
    guard let value = arguments.popFirst(), !value.hasPrefix("--") else { refuse("\(flag) needs a value") }
    switch flag {
    case "--out": out = value
    default:
        guard let n = Int(value), n >= 1 else { refuse("\(flag) needs an integer ≥ 1, got '\(value)'") }
        if flag == "--samples" { samplesGiven = n } else { promptsGiven = n }
    }
}
let started = Date()

// 1. The model. The GGUF file comes from `make smollm2` (or SMOLLM2_GGUF).
let path = ProcessInfo.processInfo.environment["SMOLLM2_GGUF"] ?? ".cache/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
guard FileManager.default.fileExists(atPath: path) else {
    say("SmolLM2 is not at \(path): run `make smollm2` (or set SMOLLM2_GGUF)")
    exit(1)
}
let loaded = try ModelLoader.load(named: path)
let model = loaded.model, tokenizer = try loaded.requireTokenizer(), layers = model.siteTable.layers
say(String(format: "loaded %@: %d layers, %d parameters, in %.2f s", model.modelType, layers, model.parameterCount, loaded.loadSeconds))

// 2. The noise. ν = 3σ, σ the standard deviation of the token embeddings' entries over the whole
//    vocabulary (the paper takes σ over its subjects' embeddings; the factor 3 is the paper's).
let sigma = try TracingNoise.embeddingStandardDeviation(model: model)
let samples = samplesGiven ?? (full ? 10 : 1), window = 10
say(String(format: "token embeddings: σ = %.4f; noise ν = 3σ = %.4f; %d samples per prompt, window %d", sigma, 3 * sigma, samples, window))

// 3. Factual prompts: (prompt, subject, answer). Only the ones the model answers (answer = its
//    top next token) are traced; quick mode takes the first three of those.
let facts: [(prompt: String, subject: String, answer: String)] = [
    ("The Eiffel Tower is located in the city of", "Eiffel Tower", " Paris"),
    ("The Colosseum is located in the city of", "Colosseum", " Rome"),
    ("Big Ben is located in the city of", "Big Ben", " London"),
    ("The Great Wall is located in the country of", "Great Wall", " China"),
    ("The Taj Mahal is located in the country of", "Taj Mahal", " India"),
    ("Mount Fuji is located in the country of", "Mount Fuji", " Japan"),
    ("The Brandenburg Gate is located in the city of", "Brandenburg Gate", " Berlin"),
    ("The Kremlin is located in the city of", "Kremlin", " Moscow"),
    ("The Statue of Liberty is located in the city of", "Statue of Liberty", " New"),
    ("The Sydney Opera House is located in the country of", "Sydney Opera House", " Australia"),
]
struct Case { let prompt: TracingPrompt; let subject: Range<Int>; let answer: String; let token: Int; let probability: Double }
var cases: [Case] = []
for fact in facts {
    let prompt = try TracingPrompt(tokenizer: tokenizer, prompt: fact.prompt)
    let token = try TracingPrompt.answerToken(fact.answer, tokenizer: tokenizer, field: "answer")
    let logits = try Tensor.withoutGradients { try model(.tokens(IndexTensor(shape: [1, prompt.tokens.count], values: prompt.tokens))).logits }
    let last = logits.atPosition(-1).reshaped([logits.shape[2]])
    let p = Double(last.softmax().scalars[token]), top = last.scalars.withUnsafeBufferPointer { Tensor.largestIndices($0, k: 1) }[0]
    let kept = top == token
    say(String(format: "  %@ %@ → %@ p = %.3f (top %@)", kept ? "trace" : "skip ", String(reflecting: fact.prompt), String(reflecting: fact.answer), p,
               String(reflecting: tokenizer.decode([top]))))
    if kept { cases.append(Case(prompt: prompt, subject: try prompt.subjectRange(fact.subject), answer: fact.answer, token: token, probability: p)) }
}
let traced = Array(cases.prefix(promptsGiven ?? (full ? cases.count : 3)))
guard !traced.isEmpty else { say("FAIL: the model answers none of the prompts"); exit(1) }

// 4. Trace each prompt: block_output at single layers and (with --full) attention and MLP outputs
//    over windows of 10 layers. Effects are averaged by token class (first/middle/last subject token, first
//    subsequent token, further tokens, last token) as in the paper's figure 1.
let specs = [TraceGridSpec(component: .blockOutput)]
    + (full ? [TraceGridSpec(component: .attentionOutput, window: window), TraceGridSpec(component: .mlpOutput, window: window)] : [])
var averages = specs.map { _ in ClassAverage(layers: layers) }
var (cleanSum, corruptedSum, traceSeconds, lastLayerError) = (0.0, 0.0, 0.0, 0.0)
for (i, c) in traced.enumerated() {
    let trace = try CausalTrace.trace(model: model, tokens: c.prompt.tokens, tokenTexts: c.prompt.tokenTexts, subject: c.subject,
                                      metric: .probability(target: c.token), label: "p(\(String(reflecting: c.answer)))", specs: specs,
                                      noiseStd: 3 * sigma, samples: samples, seed: UInt64(i + 1))
    cleanSum += trace.clean
    corruptedSum += trace.corrupted
    traceSeconds += trace.seconds
    // Restoring the residual stream after the last block at the last token is the clean run.
    lastLayerError = max(lastLayerError, abs(trace.grids[0].values[layers - 1][c.prompt.tokens.count - 1] - trace.clean))
    for (g, grid) in trace.grids.enumerated() { averages[g].add(grid.effects, subject: c.subject, length: c.prompt.tokens.count) }
    let block = trace.grids[0].effects, lastSubject = c.subject.upperBound - 1
    let peak = block.map { $0[lastSubject] }.argmax
    say(String(format: "%@: clean %.3f, corrupted %.3f; subject tokens %@; block_output at the last subject token peaks at L%d (%+.3f); %.1f s",
               String(reflecting: c.prompt.text.text), trace.clean, trace.corrupted, c.subject.description, peak, block[peak][lastSubject], trace.seconds))
    try trace.write(to: out + "/prompt\(i + 1)", title: "\(c.prompt.text.text) → \(c.answer)")
}
let n = Double(traced.count), meanClean = cleanSum / n, meanCorrupted = corruptedSum / n

// 5. The averaged grids, layer by layer (every third layer), one column per token class.
say()
say(String(format: "averaged over %d prompts: p(answer) clean %.3f, corrupted %.3f; indirect effect per token class:", traced.count, meanClean, meanCorrupted))
for (g, spec) in specs.enumerated() {
    say("  \(spec.label)")
    say("    layer " + TokenClass.allCases.map { $0.rawValue.padding(toLength: 14, withPad: " ", startingAt: 0).prefix(14) }.joined(separator: " "))
    for l in stride(from: 0, to: layers, by: 3) {
        say(String(format: "    L%-4d ", l) + averages[g].mean[l].map { String(format: "%+14.4f", $0) }.joined(separator: " "))
    }
    let columns = TokenClass.allCases.map { averages[g].column($0) }
    let grid = (0..<layers).map { l in columns.map { $0[l] } }
    let svg = SVGPlot.traceHeatmap(values: grid, effects: grid, tokens: TokenClass.allCases.map(\.rawValue), marked: [0, 1, 2],
                                   title: "mean indirect effect on p(answer), \(traced.count) prompts: \(spec.label)", valueName: "effect")
    try SVGPlot.write(svg, to: out + "/average_\(spec.component.rawValue).svg")
}

// 6. The paper's two sites. Early site: the last subject token in early-to-middle layers, most of
//    all through the MLPs. Late site: the last token in late layers, through attention.
let third = layers / 3
let blockSubject = averages[0].column(.lastSubject), blockLast = averages[0].column(.lastToken)
let subjectPeak = blockSubject.argmax, lastPeak = blockLast.argmax
say()
say(String(format: "block_output: last subject token peaks at L%d (%+.3f), last token at L%d (%+.3f)", subjectPeak, blockSubject[subjectPeak],
           lastPeak, blockLast[lastPeak]))
say(String(format: "  last subject token: mean effect in layers 0–%d %+.3f, %d–%d %+.3f, %d–%d %+.3f", third - 1, blockSubject.mean(0..<third), third,
           2 * third - 1, blockSubject.mean(third..<(2 * third)), 2 * third, layers - 1, blockSubject.mean((2 * third)..<layers)))
say(String(format: "  last token:         mean effect in layers 0–%d %+.3f, %d–%d %+.3f, %d–%d %+.3f", third - 1, blockLast.mean(0..<third), third,
           2 * third - 1, blockLast.mean(third..<(2 * third)), 2 * third, layers - 1, blockLast.mean((2 * third)..<layers)))
// With --full: the MLPs at the last subject token and attention at the last token.
var (mlpPeak, mlpEffect, attentionPeak, attentionEffect) = (-1, 0.0, -1, 0.0)
if full {
    let mlpSubject = averages[2].column(.lastSubject), attentionLast = averages[1].column(.lastToken)
    (mlpPeak, attentionPeak) = (mlpSubject.argmax, attentionLast.argmax)
    (mlpEffect, attentionEffect) = (mlpSubject[mlpPeak], attentionLast[attentionPeak])
    say(String(format: "mlp_output (window %d) at the last subject token peaks at L%d (%+.3f); attention_output (window %d) at the last token peaks at L%d (%+.3f)",
               window, mlpPeak, mlpEffect, window, attentionPeak, attentionEffect))
}
let earlySite = subjectPeak < 2 * third && mlpPeak < 2 * third
let lateSite = lastPeak >= layers / 2
say("the paper's picture — " + (earlySite ? "holds" : "does not hold") + " for the early site (last subject token, early-to-middle layers"
    + (full ? ", MLP" : "") + "); " + (lateSite ? "holds" : "does not hold") + " for the late site (last token, late layers)")

// 7. Activation patching between two prompts of one template and equal length: the clean
//    prompt's residual stream patched into the other's run, the metric logit(clean answer) −
//    logit(other answer).
var patchSummary = (found: 0.0, subject: 0.0, last: 0.0, seconds: 0.0)
pairs: for a in cases {
    for b in cases where b.prompt.tokens.count == a.prompt.tokens.count && b.token != a.token && a.prompt.text.text.hasSuffix("city of")
        && b.prompt.text.text.hasSuffix("city of") {
        let patched = try CausalTrace.patch(model: model, clean: a.prompt.tokens, corrupted: b.prompt.tokens, tokenTexts: a.prompt.tokenTexts,
                                            metric: .logitDifference(target: a.token, distractor: b.token),
                                            label: "logit(\(String(reflecting: a.answer))) − logit(\(String(reflecting: b.answer)))",
                                            specs: [TraceGridSpec(component: .blockOutput)])
        let grid = patched.grids[0].effects, lastSubject = a.subject.upperBound - 1, last = a.prompt.tokens.count - 1
        say()
        say(String(format: "patching %@ into %@: %@ clean %+.3f, corrupted %+.3f; %.1f s", String(reflecting: a.prompt.text.text),
                   String(reflecting: b.prompt.text.text), patched.metric, patched.clean, patched.corrupted, patched.seconds))
        for l in stride(from: 0, to: layers, by: 4) {
            say(String(format: "  L%-3d last subject token %+8.3f   last token %+8.3f", l, grid[l][lastSubject], grid[l][last]))
        }
        try patched.write(to: out + "/patching", title: "\(a.prompt.text.text) into \(b.prompt.text.text)")
        patchSummary = (1, Double(grid.map { $0[lastSubject] }.argmax), Double(grid.map { $0[last] }.argmax), patched.seconds)
        say(String(format: "  the effect at the last subject token is largest at L%.0f, at the last token at L%.0f", patchSummary.subject, patchSummary.last))
        break pairs
    }
}
say("wrote the heatmaps and trace.json files under \(out)")

// The bar: the noise must hurt the answer, and restoring the last block's output at the last
// token must give the clean probability back (the machinery, not the science).
let checks: [(String, Bool)] = [
    ("noising the subject lowers p(answer) on average", meanCorrupted < meanClean),
    ("restoring the last block at the last token gives the clean p (|Δ| < 1e-4)", lastLayerError < 1e-4),
]
say()
for (claim, holds) in checks { say((holds ? "pass: " : "FAIL: ") + claim) }
say(ExperimentRunner.jsonLine([
    "prompts": n, "samples": Double(samples), "noise_std": 3 * sigma, "clean_p": meanClean, "corrupted_p": meanCorrupted,
    "block_last_subject_peak_layer": Double(subjectPeak), "block_last_subject_peak_effect": blockSubject[subjectPeak],
    "block_last_token_peak_layer": Double(lastPeak), "block_last_token_peak_effect": blockLast[lastPeak],
    "mlp_last_subject_peak_layer": Double(mlpPeak), "mlp_last_subject_peak_effect": mlpEffect,
    "attention_last_token_peak_layer": Double(attentionPeak), "attention_last_token_peak_effect": attentionEffect,
    "early_site_holds": earlySite ? 1 : 0, "late_site_holds": lateSite ? 1 : 0, "patching_pair_found": patchSummary.found,
    "patching_last_subject_peak_layer": patchSummary.subject, "patching_last_token_peak_layer": patchSummary.last,
    "trace_seconds": traceSeconds, "total_seconds": Date().timeIntervalSince(started),
]))
if checks.contains(where: { !$0.1 }) { exit(1) }
