import Foundation
import Testing
import Features
import Models
import Tensors

/// The repository root (for fixtures).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

/// Evaluation numbers worked out by hand, and the streamed evaluation against a direct computation.
@Suite struct SAEStatisticsTests {
    /// x = [1, 0], [0, 2], [3, 1]; x̂ = [1, 0], [0, 1], [2, 1]: Σ‖x − x̂‖² = 2, x̄ = [4/3, 1],
    /// Σ‖x − x̄‖² = 10/9 + 25/9 + 25/9 = 20/3, so FVE = 1 − 2 / (20/3) = 0.7 and MSE = 2/6.
    /// Latents fire 2, 1, 1 and 0 times: L0 = 4/3, one dead latent of four, and with a 0.5
    /// density threshold one dense latent. CE: clean 2, spliced 2.5, zero-ablated 4 → 0.75.
    @Test func aCaseComputedByHand() {
        var s = SAEStatistics(width: 2, latents: 4, denseThreshold: 0.5)
        s.add(activations: Tensor([[1, 0], [0, 2]]), reconstruction: Tensor([[1, 0], [0, 1]]), latents: Tensor([[1, 0, 0, 0], [0, 2, 0, 0]]))
        s.add(activations: Tensor([[3, 1]]), reconstruction: Tensor([[2, 1]]), latents: Tensor([[1, 0, 3, 0]]))
        s.addLosses(clean: 6, spliced: 7.5, zero: 12, count: 3)
        let e = s.evaluation
        #expect(abs(e.varianceExplained - 0.7) < 1e-12)
        #expect(abs(e.meanSquaredError - 1.0 / 3) < 1e-12)
        #expect(abs(e.meanL0 - 4.0 / 3) < 1e-12)
        #expect(e.deadFraction == 0.25 && e.denseFraction == 0.25 && e.tokens == 3)
        #expect(e.cleanLoss == 2 && e.splicedLoss == 2.5 && e.zeroLoss == 4 && e.lossRecovered == 0.75)
        let keys = (try? JSONSerialization.jsonObject(with: JSONEncoder().encode(e)) as? [String: Any])?.keys.sorted() ?? []
        #expect(keys == ["ce_clean", "ce_loss_recovered", "ce_spliced", "ce_zero_ablated", "dead_fraction", "dense_fraction", "mean_l0",
                         "mse", "tokens", "variance_explained"])
    }

    /// Three windows in batches of two, the first position left out: the figures equal those
    /// computed from the model's own activations and logits at positions 1…5.
    @Test func streamedEvaluationMatchesADirectComputation() throws {
        let model = tinyGPT2()
        let site = Site(layer: 1, component: .blockOutput)
        let sae = try SparseAutoencoder(width: 16, latents: 24, activation: .topK(4), seed: 5)
        let windows = [[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12], [13, 14, 15, 16, 17, 18]]
        let result = try SAEEvaluation.evaluate(sae, model: model, site: site, windows: ArrayTokenWindows(windows),
                                                options: SAEEvaluationOptions(windowsPerPass: 2, positions: PositionSelection(skip: 1, sinkRatio: nil)))
        var expected = SAEStatistics(width: 16, latents: 24)
        var clean = 0.0
        for ids in windows {
            let (output, cache) = try Tensor.withoutGradients {
                try model.runWithCache(.tokens(IndexTensor(shape: [1, 6], values: ids)), sites: [site])
            }
            let x = cache[site]!.reshaped([6, 16]).narrowed(0, start: 1, length: 5).contiguous()
            let z = sae.encode(x).latents
            expected.add(activations: x, reconstruction: sae.decode(z), latents: z)
            let targets = [-100] + Array(ids[2...]) + [-100]
            clean += Double(Tensor.crossEntropy(logits: output.logits.reshaped([6, 40]), targets: targets).item) * 4
        }
        #expect(result.tokens == 15)
        #expect(abs(result.varianceExplained - expected.evaluation.varianceExplained) < 1e-5)
        #expect(abs(result.meanL0 - expected.evaluation.meanL0) < 1e-9 && result.deadFraction == expected.evaluation.deadFraction)
        #expect(abs(result.cleanLoss - clean / 12) < 1e-5)
        #expect(result.zeroLoss != result.cleanLoss && result.splicedLoss != result.cleanLoss)
        // A budget stops the stream early: the first batch (two windows) already passes 8 tokens.
        let capped = try SAEEvaluation.evaluate(sae, model: model, site: site, windows: ArrayTokenWindows(windows),
                                                options: SAEEvaluationOptions(windowsPerPass: 2, maxTokens: 8, positions: PositionSelection(skip: 1, sinkRatio: nil)))
        #expect(capped.tokens == 10)
        #expect(throws: SAEError.self) {
            try SAEEvaluation.evaluate(sae, model: model, site: site, windows: ArrayTokenWindows([[1, 2]]),
                                       options: SAEEvaluationOptions(positions: PositionSelection(skip: 1)))
        }
        #expect(throws: SAEError.self) { try SAEEvaluationOptions(windowsPerPass: 0).validate() }
    }
}

/// Activations of a model at a site as training rows, and token windows from a text file.
@Suite struct SAEActivationStreamTests {
    /// Window 0's third position is 40× its window's median norm: a sink, left out with the first
    /// position; without the rule only the first position goes.
    @Test func attentionSinksAreLeftOut() throws {
        var values = [Float](repeating: 1, count: 2 * 5 * 2)
        values[(0 * 5 + 2) * 2] = 40
        values[(1 * 5 + 4) * 2 + 1] = 3  // ‖·‖ ≈ 3.2: under 10× the median
        let activations = Tensor(shape: [2, 5, 2], values: values)
        let keep = PositionSelection(skip: 1, sinkRatio: 10).kept(activations)
        #expect(keep == [false, true, false, true, true, false, true, true, true, true])
        #expect(PositionSelection(skip: 1, sinkRatio: nil).kept(activations).filter { $0 }.count == 8)
        #expect(PositionSelection.rows(activations, keep: keep).shape == [7, 2])
        #expect(throws: SAEError.self) { try PositionSelection(sinkRatio: 0.5).validate() }
        #expect(throws: SAEError.self) { try PositionSelection(skip: -1).validate() }
    }

    @Test func rowsAreTheSiteActivationsAfterTheSkippedPositions() throws {
        let model = tinyGPT2()
        let windows = [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11], [12, 13, 14]]
        for site in [Site(layer: 0, component: .blockOutput), Site(layer: -1, component: .mlpActivation), Site(layer: 1, component: .queryOutput)] {
            let source = try SiteActivationSource(model: model, site: site, windows: ArrayTokenWindows(windows), windowsPerPass: 3,
                                                  positions: PositionSelection(skip: 1, sinkRatio: nil))
            var rows: [Tensor] = []
            while let r = try source.nextRows() { rows.append(r) }
            // Equal lengths only share a pass: [4, 4], then [3, 3].
            #expect(rows.map { $0.shape[0] } == [6, 4])
            #expect(source.tokens == 10)
            var expected: [Float] = []
            for ids in windows {
                let resolved = try model.siteTable.resolved(site)
                let cache = try Tensor.withoutGradients { try model.runWithCache(.tokens(IndexTensor(shape: [1, ids.count], values: ids)), sites: [resolved]).cache }
                let a = cache[resolved]!
                expected += a.narrowed(1, start: 1, length: ids.count - 1).contiguous().scalars
            }
            #expect(zip(rows.flatMap(\.scalars), expected).allSatisfy { abs($0 - $1) < 1e-5 }, "\(site)")
            #expect(rows.flatMap(\.scalars).count == expected.count)
        }
        #expect(throws: SAEError.self) {
            try SiteActivationSource(model: model, site: Site(layer: 0, component: .headQueryOutput), windows: ArrayTokenWindows(windows))
        }
        #expect(throws: SiteError.self) {
            try SiteActivationSource(model: model, site: Site(layer: 5, component: .blockOutput), windows: ArrayTokenWindows(windows))
        }
    }

    func tokenizer() throws -> any Tokenizer {
        try TokenizerLoader.load(path: repositoryRoot + "/Tests/Fixtures/tokenizers/bpe-qwen2/tokenizer.json")
    }

    @Test func corpusWindowsFollowTheTokenStream() throws {
        let tokenizer = try tokenizer()
        let text = (1...40).map { "Line \($0) of the corpus says hello to the windows.\n" }.joined()
        let path = NSTemporaryDirectory() + "corpus-\(UUID().uuidString).txt"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let all = tokenizer.encode(text, addSpecialTokens: false).ids
        // Small blocks cut at line breaks tokenize as the whole text does.
        let windows = try CorpusTokenWindows(path: path, tokenizer: tokenizer, context: 16, blockBytes: 1024)
        var read: [[Int]] = []
        while let w = try windows.next() { read.append(w) }
        #expect(read.count == all.count / 16 && read.allSatisfy { $0.count == 16 })
        #expect(Array(read.joined()) == Array(all.prefix(read.count * 16)))
        #expect(windows.passes == 1)
        // Repeating: the stream goes on past the end, joining the tail to the start.
        let again = try CorpusTokenWindows(path: path, tokenizer: tokenizer, context: 16, repeats: true, blockBytes: 1024)
        var many: [[Int]] = []
        for _ in 0..<(2 * read.count + 3) { many.append(try #require(try again.next())) }
        #expect(again.passes == 2)
        #expect(Array(many.joined().prefix(all.count + 16)) == all + Array(all.prefix(16)))
    }

    @Test func badCorporaAreNamed() throws {
        let tokenizer = try tokenizer()
        #expect(throws: SAEError.self) { try CorpusTokenWindows(path: "/no/such/file.txt", tokenizer: tokenizer, context: 8) }
        #expect(throws: SAEError.self) { try CorpusTokenWindows(path: NSTemporaryDirectory(), tokenizer: tokenizer, context: 8) }
        let path = NSTemporaryDirectory() + "tiny-\(UUID().uuidString).txt"
        try "two words".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: SAEError.invalid(field: "context", value: "1", allowed: "an integer ≥ 2 (tokens per window)")) {
            try CorpusTokenWindows(path: path, tokenizer: tokenizer, context: 1)
        }
        // Too short for one window: nothing without repeats, a typed error with them.
        #expect(try CorpusTokenWindows(path: path, tokenizer: tokenizer, context: 64).next() == nil)
        #expect(throws: SAEError.self) { try CorpusTokenWindows(path: path, tokenizer: tokenizer, context: 64, repeats: true).next() }
    }
}
