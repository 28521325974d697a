import Foundation
@testable import Features
import Intervene
@testable import InterveneServer
import Models
import Tensors
import Testing

/// The tiny GPT-2 with a 16-code k = 2 codebook at each MLP output (L0.mlp, L1.mlp), saved as a
/// bundle, and a codebook cache of two prompts collected with it (recording the bundle), served
/// with the codebook model live.
struct CodebookLiveFixture {
    let folder: String, bundle: String, cachePath: String
    let codebooks: CodebookModel
    let live: LiveModel
    let site: BrowserSite

    init() throws {
        folder = try tinyGPT2Folder()
        let loaded = try ModelLoader.load(named: folder)
        guard let decoder = loaded.model as? DecoderModel else { throw ModelError.invalidInput("the tiny GPT-2 is not a decoder") }
        codebooks = try CodebookModel(model: decoder, specs: [CodebookSpec(placement: .mlp, codeCount: 16, k: 2)], seed: 5)
        let tokenizer = try loaded.requireTokenizer()
        bundle = temporaryPath("bundle")
        try CodebookBundle.save(codebooks, to: bundle, modelSource: folder)
        let (codes, metrics) = try CollectedCodes.collect(codebooks, tokenizer: tokenizer, prompts: ["the quick brown fox", "a lazy dog sleeps all day"])
        cachePath = temporaryPath("codebook-live")
        try CodebookCache.write(codes, to: cachePath, model: .init(type: decoder.modelType, fingerprint: CodebookBundle.baseFingerprint(decoder), source: folder),
                                bundle: bundle, metrics: metrics.flattened)
        live = LiveModel(model: decoder, tokenizer: tokenizer, source: folder, codebooks: codebooks)
        site = BrowserSite(caches: [try ServedCache.load(cachePath)], live: live)
    }

    func cleanUp() {
        for p in [folder, bundle, cachePath] { try? FileManager.default.removeItem(atPath: p) }
    }

    func livePage(_ parameters: [(String, String)]) -> BrowserPage {
        var components = URLComponents()
        components.queryItems = parameters.map { URLQueryItem(name: $0.0, value: $0.1) }
        return site.respond(path: "/live", query: components.percentEncodedQuery)
    }

    /// p(next token) of the codebook model on `ids` with `configure` applied to codebook `name`
    /// for one plain forward pass (no generation, no key/value cache), then undone.
    func direct(_ ids: [Int], _ name: String, _ configure: (CodebookLayer) -> Void) throws -> [Float] {
        let layer = try #require(codebooks.codebook(named: name))
        configure(layer)
        defer { (layer.patches, layer.callOptions) = ([], .plain) }
        let logits = try Tensor.withoutGradients { try codebooks.forward(IndexTensor(shape: [1, ids.count], values: ids)).logits }
        return logits.atPosition(-1).reshaped([logits.shape[2]]).softmax().scalars
    }
}

@Suite struct LiveCodeTests {
    @Test func forcingAndDisablingMatchDirectForwardPasses() throws {
        let f = try CodebookLiveFixture()
        defer { f.cleanUp() }
        let ids = f.live.encode("the quick brown fox")
        let plain = try f.direct(ids, "L1.mlp") { _ in }
        // The code L1.mlp chose in slot 0 at the last position, and one it did not choose.
        let chosen = try Tensor.withoutGradients { try f.codebooks.forward(IndexTensor(shape: [1, ids.count], values: ids)).codes["L1.mlp"]! }
        let k = 2, last = ids.count - 1
        let top = chosen.values[last * k], other = (0..<16).first { !chosen.values[(last * k)..<(last * k + k)].contains($0) }!
        let cases: [(LiveAction, (CodebookLayer) -> Void)] = [
            (.forceCode(codebook: "L1.mlp", code: other, slot: nil, everywhere: false), { $0.patches = [CodePatch(positions: [-1], slot: nil, code: other)] }),
            (.forceCode(codebook: "L1.mlp", code: other, slot: 1, everywhere: true), { $0.patches = [CodePatch(positions: nil, slot: 1, code: other)] }),
            (.disableCode(codebook: "L1.mlp", code: top, refill: true, everywhere: false),
             { $0.callOptions = CodebookCallOptions(disabledCodes: [top], tokens: .positions([-1]), keepK: true) }),
            (.disableCode(codebook: "L1.mlp", code: top, refill: false, everywhere: true),
             { $0.callOptions = CodebookCallOptions(disabledCodes: [top], tokens: .all, keepK: false) }),
        ]
        for (action, configure) in cases {
            let result = try f.live.run(prompt: ids, site: Site(layer: 0, component: .blockOutput), action: action)
            let expected = try f.direct(ids, "L1.mlp", configure)
            #expect(zip(result.probabilitiesBefore, plain).allSatisfy { abs($0 - $1) < 1e-6 }, "\(action)")
            #expect(zip(result.probabilitiesAfter, expected).allSatisfy { abs($0 - $1) < 1e-6 }, "\(action)")
            #expect(zip(plain, expected).contains { abs($0 - $1) > 1e-4 }, "\(action) changes nothing")
            #expect(result.before.count == 10 && result.generatedBefore.count == 12 && result.generatedAfter.count == 12)
            #expect(abs(result.after[0].probability - expected.max()!) < 1e-6)
        }
        // The codebooks' own settings are restored after each run.
        #expect(f.codebooks.codebooks.allSatisfy { $0.layer.patches.isEmpty && $0.layer.callOptions == .plain })
    }

    @Test func thePageRunsCodeActionsAndTheCodePageLinksToIt() throws {
        let f = try CodebookLiveFixture()
        defer { f.cleanUp() }
        let page = f.livePage([("prompt", "the quick brown fox"), ("action", "code-force"), ("codebook", "L1.mlp"), ("code", "3"), ("slot", "all"), ("position", "last")])
        #expect(page.status == 200 && page.html.contains("id=\"after\"") && page.html.contains("code 3 of L1.mlp forced into every slot at the last position"), "\(page.html)")
        let ids = f.live.encode("the quick brown fox")
        let result = try f.live.run(prompt: ids, site: Site(layer: 0, component: .blockOutput), action: .forceCode(codebook: "L1.mlp", code: 3, slot: nil, everywhere: false))
        #expect(page.html.contains(HTML.number(Double(result.after[0].probability), digits: 4)))
        let disabled = f.livePage([("prompt", "the quick brown fox"), ("action", "code-disable"), ("codebook", "L0.mlp"), ("code", "0"), ("fill", "zero"), ("position", "all")])
        #expect(disabled.status == 200 && disabled.html.contains("its slot zeroed"), "\(disabled.html)")
        // The form lists the codebooks; a code page links to the form filled in.
        let form = f.site.respond(path: "/live", query: nil)
        #expect(form.status == 200 && form.html.contains("<option value=\"L1.mlp\"") && form.html.contains("code-force"))
        let code = f.site.respond(path: "/cache/0/codebook/1/code/3", query: nil)
        #expect(code.status == 200 && code.html.contains("id=\"force-live\" href=\"/live?action=code-force&amp;codebook=L1.mlp&amp;code=3\""), "\(code.html)")
        let followed = f.site.respond(path: "/live", query: "action=code-force&codebook=L1.mlp&code=3")
        #expect(followed.status == 200 && followed.html.contains("<option value=\"L1.mlp\" selected>"))
        // Without a codebook model the code page has no such link.
        #expect(!BrowserSite(caches: f.site.caches).respond(path: "/cache/0/codebook/1/code/3", query: nil).html.contains("force-live"))
    }

    @Test func badCodeActionInputsAre4xxPages() throws {
        let f = try CodebookLiveFixture()
        defer { f.cleanUp() }
        let cases: [([(String, String)], String)] = [
            ([("prompt", "hi"), ("action", "code-force"), ("codebook", "L9.mlp"), ("code", "1")], "codebook is 'L9.mlp'; allowed: L0.mlp, L1.mlp"),
            ([("prompt", "hi"), ("action", "code-force"), ("codebook", "L0.mlp"), ("code", "16")], "code 16 is out of range; allowed: 0...15"),
            ([("prompt", "hi"), ("action", "code-force"), ("codebook", "L0.mlp"), ("code", "x")], "code is 'x'"),
            ([("prompt", "hi"), ("action", "code-force"), ("codebook", "L0.mlp"), ("code", "1"), ("slot", "2")], "slot 2 is out of range; allowed: 0...1"),
            ([("prompt", "hi"), ("action", "code-force"), ("codebook", "L0.mlp"), ("code", "1"), ("position", "first")], "position is 'first'; allowed: last, all"),
            ([("prompt", "hi"), ("action", "code-disable"), ("codebook", "L0.mlp"), ("code", "1"), ("fill", "random")], "fill is 'random'; allowed: next-best, zero"),
            ([("prompt", String(repeating: "the ", count: 70)), ("action", "code-force"), ("codebook", "L0.mlp"), ("code", "1")], "cannot run"),
        ]
        for (parameters, message) in cases {
            let page = f.livePage(parameters)
            #expect((400...499).contains(page.status) && page.html.contains(HTML.escape(message)), "\(parameters.suffix(3)): \(page.html.suffix(600))")
        }
        // A model without codebooks refuses the code actions by name.
        let g = try LiveFixture()
        defer { g.cleanUp() }
        let refused = g.livePage([("prompt", "hi"), ("action", "code-force"), ("codebook", "L0.mlp"), ("code", "1")])
        #expect(refused.status == 400 && refused.html.contains("action code-force needs a codebook model"), "\(refused.html)")
    }
}
