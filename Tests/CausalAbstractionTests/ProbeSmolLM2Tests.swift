import Foundation
import Testing
@testable import CausalAbstraction
import Models
import Tensors

/// Layer-by-layer probing on SmolLM2 (SMOLLM2_GGUF or `make smollm2`), when present: is the word
/// in "My favourite word is X. I like it" an animal or a country, read from the block output at
/// the last token (" it") of each of SmolLM2-135M's 30 layers?
@Suite struct ProbeSmolLM2Tests {
    static let animals = ["cat", "dog", "horse", "lion", "tiger", "rabbit", "mouse", "sheep", "goat", "wolf", "bear", "fox",
                          "eagle", "snake", "whale", "shark", "monkey", "zebra", "camel", "deer", "duck", "frog", "owl", "cow"]
    static let countries = ["France", "Spain", "Italy", "Germany", "Japan", "China", "India", "Brazil", "Mexico", "Canada", "Egypt", "Kenya",
                            "Norway", "Sweden", "Poland", "Greece", "Turkey", "Chile", "Peru", "Russia", "Ireland", "Austria", "Vietnam", "Iran"]

    @Test(.enabled(if: AttributionPatchingTests.smolLM2 != nil, "set SMOLLM2_GGUF to SmolLM2-135M-Instruct.Q4_1.gguf"))
    func animalOrCountryByLayer() throws {
        let loaded = try ModelLoader.load(.gguf(AttributionPatchingTests.smolLM2!))
        let words = Self.animals + Self.countries, labels = Self.animals.map { _ in 0 } + Self.countries.map { _ in 1 }
        let prompts = words.map { "My favourite word is \($0). I like it" }
        let sites = (0..<30).map { "\($0):block_output" }
        let items = try ActivationExport.collect(model: loaded.model, tokenizer: loaded.tokenizer!, prompts: prompts, sites: sites).items
        let layers = try sites.enumerated().map { ("\($0.offset)", try LayerProbing.rows(from: items, site: $0.element, prompts: prompts.count)) }
        var options = ProbeOptions()
        options.seed = 3
        let results = try LayerProbing.fit(layers: layers, labels: labels, options: options)
        print("probe test accuracy by layer:", results.map { String(format: "%.2f", $0.testAccuracy) }.joined(separator: " "))
        try SVGPlot.write(SVGPlot.probeAccuracyByLayer(results, title: "SmolLM2: animal vs country at the last token"),
                          to: NSTemporaryDirectory() + "probe-smollm2-layers.svg")
        #expect(results.count == 30)
        #expect(results.map(\.testAccuracy).max()! >= 0.9)
    }
}
