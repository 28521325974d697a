// Tutorial 09 — Attribution on a real model: which attention heads, MLP neurons and sparse-
// autoencoder latents make SmolLM2-135M-Instruct answer " Paris" to "The capital of France is"?
// Direct logit attribution, activation × gradient and integrated gradients over nodes, an SAE
// spliced into the residual stream, and the layers × positions grid of attribution patching
// against real activation patching. See README.md beside this file.
//
//   09-Attribution                          (what `make test` runs; SVGs go to a temporary folder)
//   09-Attribution --out DIR                the two grids as SVG files in DIR
//   09-Attribution --sae 23:block_output=DIR   a trained SAE in SAELens' folder format instead of the built-in one
//
// The last line printed is a JSON object with the headline figures.
import CausalAbstraction
import Features
import Foundation
import Intervene
import Models
import Tensors

/// Prints a line at once (unbuffered, so progress shows as it happens also in a pipe).
func say(_ line: String = "") { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
let options = TutorialOptions(Array(CommandLine.arguments.dropFirst()))
let started = Date()

// 1. The model, its answer and the metric. The GGUF file comes from `make smollm2` (or SMOLLM2_GGUF).
let path = ProcessInfo.processInfo.environment["SMOLLM2_GGUF"] ?? ".cache/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
guard FileManager.default.fileExists(atPath: path) else {
    say("SmolLM2 is not at \(path): run `make smollm2` (or set SMOLLM2_GGUF)")
    exit(1)
}
let loaded = try ModelLoader.load(named: path)
let model = loaded.model, tokenizer = try loaded.requireTokenizer()
say(String(format: "loaded %@: %d layers, %d parameters, in %.2f s", model.modelType, model.siteTable.layers, model.parameterCount, loaded.loadSeconds))
let givenSAE = TutorialSAE.given(options, model: model)   // --sae, checked before the work

// `AttributionPrompt` tokenizes the prompt and the source, checks that both have as many tokens
// (so positions line up) and that each answer is one token, and builds the metric
// m = logit(" Paris") − logit(" Rome") at the last position.
let prompt = "The capital of France is", sourcePrompt = "The capital of Italy is"
let question = try AttributionPrompt(tokenizer: tokenizer, prompt: prompt, source: sourcePrompt, target: " Paris", distractor: " Rome")
let sourceIds = question.source!
say("prompt tokens: " + question.baseTokens.map { String(reflecting: $0) }.joined(separator: " "))
say("source tokens: " + question.sourceTokens!.map { String(reflecting: $0) }.joined(separator: " ")
    + " (differs at position(s) \(question.base.indices.filter { question.base[$0] != sourceIds[$0] }))")

func input(_ ids: [Int]) -> ModelInput { .tokens(IndexTensor(shape: [1, ids.count], values: ids)) }
let logits = try Tensor.withoutGradients { try model(input(question.base)).logits }
let last = logits.atPosition(-1).reshaped([logits.shape[2]])
let probabilities = last.softmax().scalars
let best = last.scalars.withUnsafeBufferPointer { Tensor.largestIndices($0, k: 5) }
say("\(prompt) → " + best.map { String(format: "%@ %.3f", String(reflecting: tokenizer.decode([$0])), probabilities[$0]) }.joined(separator: ", "))
let metric = Double(question.metric.values(logits).item)
say(String(format: "metric %@ = %.3f", question.label, metric))

// 2. Direct logit attribution. The residual stream after the last block is the sum of the
//    embeddings and every head, attention bias and MLP output; read through the final norm with
//    its scale frozen, each part's share of the metric is ⟨ũ, part⟩, and the shares add up to it.
//    `NodeAttribution.run` without a source computes it beside activation × gradient (step 3).
let zeroing = try NodeAttribution.run(model: model, base: question.base, metric: question.metric)
let dla = zeroing.directLogitAttribution!
let dlaSum = dla.total + dla.biasTerm, dlaError = abs(dlaSum - zeroing.metric)
say()
/// The parts of one kind ("embed", "head", "attn_bias", "mlp"), largest |DLA| first, and their sum.
@MainActor func parts(_ kind: String) -> (parts: [DirectLogitAttribution.Part], sum: Double) {
    let chosen = dla.parts.filter { $0.kind == kind }
    return (chosen.sorted { abs($0.value) > abs($1.value) }, chosen.map(\.value).reduce(0, +))
}
let (heads, mlps) = (parts("head"), parts("mlp"))
say(String(format: "direct logit attribution: embeddings %.3f, %d heads %.3f, attention biases %.3f, %d MLPs %.3f",
           parts("embed").sum, heads.parts.count, heads.sum, parts("attn_bias").sum, mlps.parts.count, mlps.sum))
say(String(format: "  sum of the parts %.4f + final-norm bias term %.4f = %.4f; metric %.4f; |error| %.1e", dla.total, dla.biasTerm, dlaSum,
           zeroing.metric, dlaError))
let topHead = heads.parts[0]
say("  top heads: " + heads.parts.prefix(8).map { String(format: "L%dH%d %+.3f", $0.layer, $0.index, $0.value) }.joined(separator: ", "))
say("  top MLPs:  " + mlps.parts.prefix(4).map { String(format: "L%d %+.3f", $0.layer, $0.value) }.joined(separator: ", "))

// 3. Node attribution: one number per MLP neuron (mlp.hook_post), attention head (attn.hook_z)
//    and position. Without a source it is activation × gradient — the first-order effect of
//    zeroing the node; with the source it estimates patching the node from "…Italy is", by
//    default with integrated gradients (`AttributionMethod.standard`: 8 points on the path from
//    the prompt's token embeddings to the source's).
@MainActor func row(_ node: AttributedNode) -> String {
    let name = node.kind == .latent ? "latent \(node.index) (SAE at L\(node.layer))" : "\(node.kind) L\(node.layer) #\(node.index)"
    return "  " + name.padding(toLength: 28, withPad: " ", startingAt: 0)
        + String(reflecting: question.baseTokens[node.position]).padding(toLength: 12, withPad: " ", startingAt: 0)
        + String(format: "%+9.3f", node.attribution)
}
say()
say(String(format: "activation × gradient (effect of zeroing a node), %.2f s:", zeroing.seconds))
zeroing.top(6).forEach { say(row($0)) }
let patched = try NodeAttribution.run(model: model, base: question.base, source: sourceIds, metric: question.metric, method: .standard)
say(String(format: "%@ from the source (effect of patching a node from \"%@\"), %.2f s:", patched.method.description, sourcePrompt, patched.seconds))
patched.top(6).forEach { say(row($0)) }

// 4. SAE latents. An SAE is spliced in at one residual-stream site, at every position, with its
//    reconstruction error added back: the activation, and so the logits, stay exactly what they
//    were, but the latents now sit on the path and get attributions of their own (and a direct
//    logit attribution z_i ⟨ũ, d_i⟩ at the last position).
say()
let choice = try givenSAE ?? TutorialSAE.builtIn(options, model: model, tokenizer: tokenizer)
let (site, sae) = (choice.site, choice.sae)
say("SAE at \(site): \(sae.width) → \(sae.latents) latents (\(choice.origin))")
@MainActor func splice(keepingError: Bool) throws -> IntervenableModel {
    try IntervenableModel(config: IntervenableConfig(representations: [RepresentationConfig(layer: site.layer, component: site.component)]),
                          model: model, prebuilt: [0: SparseAutoencoderIntervention(sae: sae, keepsReconstructionError: keepingError)])
}
let spliced = try splice(keepingError: true)
let splicedRun = try Tensor.withoutGradients { try spliced.forward(base: input(question.base), outputOriginal: true) }
let logitChange = Double((splicedRun.intervened.logits - splicedRun.original!.logits).abs().maxValue())
// Without the error term the SAE's reconstruction replaces the activation: how much of the
// answer survives it, at every position and at the last one only?
let reconstructed = try splice(keepingError: false)
let everywhere = try Tensor.withoutGradients { try reconstructed.forward(base: input(question.base)).intervened.logits }
let lastOnly = try Tensor.withoutGradients {
    try reconstructed.forward(base: input(question.base), unitLocations: .position(question.base.count - 1, batchSize: 1)).intervened.logits
}
say(String(format: "  spliced with the error term: max |Δ logit| = %.1e (metric %.3f); the reconstruction alone gives metric %.3f (at the last position only: %.3f)",
           logitChange, Double(question.metric.values(splicedRun.intervened.logits).item), Double(question.metric.values(everywhere).item),
           Double(question.metric.values(lastOnly).item)))
let withLatents = try NodeAttribution.run(model: model, base: question.base, source: sourceIds, metric: question.metric, method: .standard, latents: spliced)
let nodeChange = zip(withLatents.heads + withLatents.neurons, patched.heads + patched.neurons).map { Double(($0 - $1).abs().maxValue()) }.max() ?? 0
say(String(format: "  node attribution with the SAE (%.2f s): heads' and neurons' values move by at most %.1e; top nodes:", withLatents.seconds, nodeChange))
withLatents.top(6).forEach { say(row($0)) }
let latentNodes = withLatents.top(Int.max).filter { $0.kind == .latent }
let topLatent = latentNodes.first
say("  top latents: " + latentNodes.prefix(5).map { String(format: "%d at %@ %+.3f", $0.index, String(reflecting: question.baseTokens[$0.position]), $0.attribution) }
    .joined(separator: ", "))
// What is the top latent? Where it fires in the built-in corpus, and which tokens its
// decoder direction promotes through the final norm's weight and the unembedding (logit lens).
if let topLatent {
    var windows = TutorialCorpus.windows(tokenizer).makeIterator()
    do {
        let statistics = try LatentAnalysis.statistics(of: sae, model: model, site: site,
                                                       options: LatentAnalysisOptions(top: 4, contextRadius: 5, logitTokens: 0, batchSize: 16),
                                                       nextWindow: { windows.next() })
        let contexts = statistics.contexts(of: topLatent.index).map { context -> String in
            let before = context.tokens[..<5].filter { $0 >= 0 }, token = context.tokens[5]
            return String(format: "%@ (%.1f)", String(reflecting: "…" + tokenizer.decode(before) + "[" + tokenizer.decode([token]) + "]"), context.activation)
        }
        say(String(format: "  latent %d fires on %.1f%% of the built-in corpus's %d tokens, most on: ", topLatent.index,
                   100 * statistics.frequency(of: topLatent.index), statistics.tokens) + contexts.joined(separator: ", "))
    } catch {
        say("  (no corpus contexts for an SAE at \(site): \(error))")
    }
    if let decoder = model as? DecoderModel, [.blockInput, .blockOutput, .residualMiddle].contains(site.component) {
        let direction = sae.decoderWeight.value.narrowed(0, start: topLatent.index, length: 1)
        let lens = try LatentLogitLens.compute(decoder: direction, model: decoder, count: 6)
        say("  its decoder direction promotes " + lens.promoted(0).map { String(reflecting: tokenizer.decode([$0.id])) }.joined(separator: " ")
            + " and suppresses " + lens.suppressed(0).map { String(reflecting: tokenizer.decode([$0.id])) }.joined(separator: " "))
    }
}
let latentDLA = withLatents.directLogitAttribution!.latents.sorted { abs($0.value) > abs($1.value) }
say("  direct logit attribution of the latents active at the last position (\(latentDLA.count)): "
    + (latentDLA.isEmpty ? "none (its site is not on the residual stream, or no latent fires there)" : latentDLA.prefix(5).map { String(format: "%d %+.3f", $0.index, $0.value) }.joined(separator: ", ")))

// 5. The patching grid: at every layer's block output and every position, copy the activation
//    from the source run and measure the metric (real activation patching, one batched row per
//    node), next to the gradient estimate of all of them from one batch of backward passes.
let grid = try AttributionPatching.run(model: model, base: question.base, source: sourceIds, component: .blockOutput, metric: question.metric)
say()
say(String(format: "patching grid at block_output (metric on the prompt %.3f, on the source %.3f); real patching | %@:",
           grid.baseMetric, grid.sourceMetric, grid.method.description))
let differing = question.base.indices.filter { question.base[$0] != sourceIds[$0] } + [question.base.count - 1]
let shown = Array(Set(differing)).sorted()
for layer in grid.patching.indices where layer % 4 == 3 || (20...25).contains(layer) || layer == grid.patching.count - 1 {
    say(String(format: "  L%-3d ", layer) + shown.map { p in
        String(reflecting: question.baseTokens[p]) + String(format: " %+8.3f | %+8.3f", grid.patching[layer][p], grid.attribution[layer][p])
    }.joined(separator: "    "))
}
say(String(format: "  correlation (Pearson, all %d cells) %.4f; %@ %.2f s, real patching %.2f s",
           grid.patching.count * question.base.count, grid.correlation, grid.method.description, grid.attributionSeconds, grid.patchingSeconds))
let out = options.out
let rows = grid.patching.indices.map { "L\($0)" }, columns = question.baseTokens.enumerated().map { "\($0.offset) \($0.element)" }
let limit = (grid.patching + grid.attribution).joined().map { abs($0) }.max() ?? 1
try SVGPlot.write(SVGPlot.signedHeatmap(grid.patching, rowLabels: rows, columnLabels: columns, title: "activation patching: Δ metric", limit: limit),
                  to: out + "/patching.svg")
try SVGPlot.write(SVGPlot.signedHeatmap(grid.attribution, rowLabels: rows, columnLabels: columns,
                                        title: String(format: "%@ estimate (r = %.3f)", grid.method.description, grid.correlation), limit: limit),
                  to: out + "/attribution.svg")
say("  wrote \(out)/patching.svg and \(out)/attribution.svg")

// The bar: the answer is " Paris", the parts sum to the metric, the splice leaves the logits
// alone, and the cheap estimate agrees with real patching.
let answer = tokenizer.decode([best[0]])
let checks: [(String, Bool)] = [
    ("the top next token is \" Paris\"", answer == " Paris"),
    ("the DLA parts sum to the metric (|error| < 1e-2)", dlaError < 1e-2),
    ("the SAE splice leaves the logits unchanged (max |Δ| < 1e-3)", logitChange < 1e-3),
    ("attribution and real patching correlate (r ≥ 0.9)", grid.correlation >= 0.9),
]
say()
for (claim, holds) in checks { say((holds ? "pass: " : "FAIL: ") + claim) }
say(ExperimentRunner.jsonLine([
    "metric": metric, "dla_sum_error": dlaError, "top_head_layer": Double(topHead.layer), "top_head_index": Double(topHead.index),
    "top_head_dla": topHead.value, "top_latent": Double(topLatent?.index ?? -1), "top_latent_attribution": topLatent?.attribution ?? 0,
    "top_latent_position": Double(topLatent?.position ?? -1), "top_latent_dla": latentDLA.first(where: { $0.index == topLatent?.index })?.value ?? 0,
    "sae_layer": Double(site.layer), "sae_trained": choice.trained ? 1 : 0, "splice_max_logit_change": logitChange,
    "correlation": grid.correlation, "load_seconds": loaded.loadSeconds, "dla_seconds": zeroing.seconds, "node_ig_seconds": patched.seconds,
    "sae_seconds": choice.seconds, "grid_attribution_seconds": grid.attributionSeconds, "grid_patching_seconds": grid.patchingSeconds,
    "total_seconds": Date().timeIntervalSince(started),
]))
if checks.contains(where: { !$0.1 }) { exit(1) }
