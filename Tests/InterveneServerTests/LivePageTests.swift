import Foundation
@testable import Features
import Intervene
@testable import InterveneServer
import Models
import Tensors
import Testing

/// The repository's root folder.
let serverRepositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

/// A tiny random GPT-2 folder (V = 700, d = 16, 2 layers) with a byte-level BPE tokenizer.
func tinyGPT2Folder() throws -> String {
    let folder = temporaryPath("tiny-gpt2")
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let gpt2 = try GPT2Family.model(GPT2Family.config(vocabularySize: 700, positions: 64, width: 16, layers: 2, heads: 2))
    gpt2.initializeRandomly(seed: 2, std: 0.2)
    try gpt2.save(to: folder + "/model.safetensors")
    try #"{"model_type": "gpt2", "vocab_size": 700, "n_positions": 64, "n_embd": 16, "n_layer": 2, "n_head": 2}"#
        .write(toFile: folder + "/config.json", atomically: true, encoding: .utf8)
    try FileManager.default.copyItem(atPath: serverRepositoryRoot + "/Tests/Fixtures/tokenizers/bpe-qwen2/tokenizer.json", toPath: folder + "/tokenizer.json")
    return folder
}

/// The browser fixture's caches served with the tiny model; the latent cache (index 1, site
/// L0.block_output) gets a random 3-latent ReLU SAE of width 16.
struct LiveFixture {
    let browser: BrowserFixture
    let folder: String
    let live: LiveModel
    let site: BrowserSite

    init() throws {
        browser = try BrowserFixture()
        folder = try tinyGPT2Folder()
        let loaded = try ModelLoader.load(named: folder)
        let sae = try SparseAutoencoder(width: 16, latents: 3, activation: .relu, seed: 3)
        live = LiveModel(model: loaded.model, tokenizer: try loaded.requireTokenizer(), source: folder, autoencoders: [1: sae])
        site = BrowserSite(caches: browser.caches, live: live)
    }

    func cleanUp() {
        browser.cleanUp()
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// The /live page for these query parameters (percent-encoded here).
    func livePage(_ parameters: [(String, String)]) -> BrowserPage {
        var components = URLComponents()
        components.queryItems = parameters.map { URLQueryItem(name: $0.0, value: $0.1) }
        return site.respond(path: "/live", query: components.percentEncodedQuery)
    }
}

@Suite struct LivePageTests {
    /// p(next token) after `ids`, clean and with `intervention` at `site` on the last position,
    /// computed straight through IntervenableModel.
    func direct(_ live: LiveModel, ids: [Int], site: Site, _ intervention: any Intervention) throws -> (clean: [Float], intervened: [Float]) {
        let model = try IntervenableModel(config: IntervenableConfig(representations: [RepresentationConfig(layer: site.layer, component: site.component)]),
                                          model: live.model, prebuilt: [0: intervention])
        let pass = try Tensor.withoutGradients {
            try model.forward(base: .tokens(IndexTensor(shape: [1, ids.count], values: ids)), unitLocations: .base([[ids.count - 1]]), outputOriginal: true)
        }
        func p(_ logits: Tensor) -> [Float] { logits.atPosition(-1).reshaped([logits.shape[2]]).softmax().scalars }
        return (p(pass.original!.logits), p(pass.intervened.logits))
    }

    @Test func zeroAblationShowsBothTablesAndMatchesADirectComputation() throws {
        let f = try LiveFixture()
        defer { f.cleanUp() }
        let page = f.livePage([("prompt", "the quick brown fox"), ("site", "1:block_output"), ("action", "zero")])
        #expect(page.status == 200, "\(page.html)")
        #expect(page.html.contains("id=\"before\"") && page.html.contains("id=\"after\""))
        #expect(page.html.contains("id=\"generated-before\"") && page.html.contains("id=\"generated-after\""))
        let ids = f.live.encode("the quick brown fox")
        let result = try f.live.run(prompt: ids, site: Site(layer: 1, component: .blockOutput), action: .zero)
        #expect(result.before.count == 10 && result.after.count == 10 && result.generatedBefore.count == 12 && result.generatedAfter.count == 12)
        let (clean, zeroed) = try direct(f.live, ids: ids, site: Site(layer: 1, component: .blockOutput), ZeroIntervention())
        let top = result.before[0].id
        #expect(top == clean.indices.max { clean[$0] < clean[$1] }!)
        #expect(abs(result.before[0].probability - clean[top]) < 1e-6 && abs(result.probabilitiesAfter[top] - zeroed[top]) < 1e-6)
        #expect(abs(clean[top] - zeroed[top]) > 1e-4)  // the ablation moves the top token's probability
        #expect(page.html.contains(HTML.number(Double(clean[top]), digits: 4)) && page.html.contains(HTML.number(Double(zeroed[top]), digits: 4)))
        // Scaling by 1 changes nothing.
        let same = try f.live.run(prompt: ids, site: Site(layer: 1, component: .blockOutput), action: .scale(1))
        #expect(zip(same.probabilitiesBefore, same.probabilitiesAfter).allSatisfy { abs($0 - $1) < 1e-6 } && same.generatedBefore == same.generatedAfter)
    }

    @Test func latentActionsAndThePromptBox() throws {
        let f = try LiveFixture()
        defer { f.cleanUp() }
        let ids = f.live.encode("the lazy dog")
        let sae = f.live.autoencoders[1]!
        let set = try f.live.run(prompt: ids, site: Site(layer: 0, component: .blockOutput), action: .setLatent(cache: 1, latent: 2, value: 50))
        let (clean, steered) = try direct(f.live, ids: ids, site: Site(layer: 0, component: .blockOutput),
                                          try SparseAutoencoderIntervention(sae: sae, edits: [.set(latent: 2, value: 50)]))
        #expect(zip(set.probabilitiesAfter, steered).allSatisfy { abs($0 - $1) < 1e-6 } && zip(set.probabilitiesBefore, clean).allSatisfy { abs($0 - $1) < 1e-6 })
        #expect(zip(clean, steered).contains { abs($0 - $1) > 1e-4 })
        let page = f.livePage([("prompt", "the lazy dog"), ("action", "latent-ablate"), ("cache", "1"), ("latent", "0")])
        #expect(page.status == 200 && page.html.contains("id=\"after\""), "\(page.html)")
        // The prompt box: z_0 per token equals the SAE's encoding of the recorded activations.
        let box = f.site.respond(path: "/cache/1/latent/0", query: "prompt=the+lazy+dog")
        #expect(box.status == 200 && box.html.contains("id=\"prompt-activations\""), "\(box.html)")
        let z = try f.live.latentActivations(prompt: ids, site: Site(layer: 0, component: .blockOutput), cache: 1, latent: 0)
        var recorded: [Float] = []
        let recorder = ClosureIntervention(needsSource: false) { base, _, _ in recorded = base.contiguous().scalars; return base }
        let probe = try IntervenableModel(config: IntervenableConfig(representations: [RepresentationConfig(layer: 0, component: .blockOutput, maxNumberOfUnits: ids.count)]),
                                          model: f.live.model, prebuilt: [0: recorder])
        _ = try Tensor.withoutGradients { try probe.forward(base: .tokens(IndexTensor(shape: [1, ids.count], values: ids)), unitLocations: .base([Array(0..<ids.count)])) }
        let expected = sae.encode(Tensor(shape: [ids.count, 16], values: recorded)).latents.scalars
        #expect(z.count == ids.count)
        for t in ids.indices { #expect(abs(z[t] - expected[t * 3]) < 1e-5) }
        #expect(occurrences(of: "data-z=", in: box.html) == ids.count)
        // Without a prompt the box is a form only; without an SAE (or model) there is no box.
        #expect(f.site.respond(path: "/cache/1/latent/0", query: nil).html.contains("id=\"latent-prompt\""))
        #expect(!BrowserSite(caches: f.browser.caches).respond(path: "/cache/1/latent/0", query: nil).html.contains("latent-prompt"))
    }

    @Test func badInputsAre4xxPages() throws {
        let f = try LiveFixture()
        defer { f.cleanUp() }
        let cases: [([(String, String)], String)] = [
            ([("prompt", ""), ("site", "0:block_output")], "prompt is empty"),
            ([("prompt", "   "), ("site", "0:block_output")], "prompt is empty"),
            ([("prompt", String(repeating: "a", count: 1_001)), ("site", "0:block_output")], "allowed: at most 1000"),
            ([("prompt", "hi"), ("site", "9:block_output")], "site is '9:block_output'"),
            ([("prompt", "hi"), ("site", "0:no_such_thing")], "site is '0:no_such_thing'"),
            ([("prompt", "hi"), ("site", "banana")], "site is 'banana'"),
            ([("prompt", "hi"), ("site", "0:block_output"), ("action", "explode")], "action is 'explode'"),
            ([("prompt", "hi"), ("site", "0:block_output"), ("action", "scale"), ("factor", "x")], "factor is 'x'"),
            ([("prompt", "hi"), ("site", "0:block_output"), ("action", "scale"), ("factor", "1e9")], "factor is '1e9'"),
            ([("prompt", "hi"), ("action", "latent-set"), ("cache", "1"), ("latent", "3")], "latent 3 is out of range"),
            ([("prompt", "hi"), ("action", "latent-set"), ("cache", "0"), ("latent", "0")], "cache 0 is not a latent cache"),
            ([("prompt", "hi"), ("action", "latent-set"), ("cache", "1"), ("latent", "0"), ("value", "nan")], "value is 'nan'"),
            ([("prompt", "hi"), ("bogus", "1")], "unknown query parameter 'bogus'"),
        ]
        for (parameters, message) in cases {
            let page = f.livePage(parameters)
            #expect((400...499).contains(page.status) && page.html.contains(HTML.escape(message)), "\(parameters): \(page.html)")
        }
        #expect(f.site.respond(path: "/cache/1/latent/0", query: "prompt=").status == 400)
        // The form alone answers 200; a server without a model answers 404 saying so.
        #expect(f.site.respond(path: "/live", query: nil).status == 200)
        let none = BrowserSite(caches: f.browser.caches).respond(path: "/live", query: "prompt=hi")
        #expect(none.status == 404 && none.html.contains("started without a model"))
    }
}
