import ArgumentParser
import Foundation
import Testing
@testable import Features
import Intervene
@testable import InterveneCLI
import Models
import Tensors

/// `intervene sae latents`, parsed and run in-process on the tiny GPT-2 folder.
@Suite struct SAELatentsCommandTests {
    /// A random ReLU SAE over the tiny model's residual stream (width 16), as a SAELens folder.
    func saeFolder(width: Int = 16) throws -> String {
        let folder = temporaryPath("sae")
        let sae = try SparseAutoencoder(width: width, latents: 24, activation: .relu, seed: 5)
        sae.encoderBias.assign(Tensor.full([24], 0.05))
        try SAELensFormat.save(sae, to: folder)
        return folder
    }

    @Test func writesACacheThatReadsBackAndMatchesTheLibrary() throws {
        let model = try tinyModelFolder(), corpus = try textFile(corpusText), sae = try saeFolder()
        let out = temporaryPath("latents")
        defer { for p in [model, corpus, sae, out] { try? FileManager.default.removeItem(atPath: p) } }
        let command = try SAELatentsCommand.parse([
            "--model", model, "--site", "1:block_output", "--sae", sae, "--corpus", corpus, "--out", out,
            "--top", "3", "--context", "2", "--tokens", "4", "--bins", "8", "--window", "16", "--batch", "2", "--json",
        ])
        let manifest = try command.execute()
        let contents = try LatentCache.read(from: out)
        #expect(contents.manifest == manifest && manifest.site == "L1.block_output" && manifest.sae.dSae == 24 && manifest.top == 3)
        #expect(contents.pieces.count == 1000 && contents.logitLens?.count == 4 && manifest.logitLensNormalization == "layer_norm centring and weight")
        #expect(manifest.corpus.tokens == contents.statistics.tokens && manifest.corpus.tokens > 0)
        // The same statistics from the library directly.
        let loaded = try ModelLoader.load(named: model)
        let tokenizer = try loaded.requireTokenizer()
        let ids = try command.corpusTokens(tokenizer)
        var windows = stride(from: 0, to: ids.count, by: 16).map { Array(ids[$0..<min($0 + 16, ids.count)]) }.filter { $0.count > 1 }.makeIterator()
        let direct = try LatentAnalysis.statistics(of: try SAELensFormat.load(folder: sae), model: loaded.model, site: Site(layer: 1, component: .blockOutput),
                                                   options: .init(top: 3, contextRadius: 2, bins: 8, logitTokens: 4, batchSize: 2), nextWindow: { windows.next() })
        #expect(direct == contents.statistics)
        // Top contexts point at real corpus tokens: the middle token of each context is the token at (window, position).
        for i in 0..<24 {
            for c in contents.statistics.contexts(of: i) { #expect(c.tokens[2] == ids[c.window * 16 + c.position]) }
        }
    }

    @Test func aSiteNarrowerOrWiderThanTheResidualHasNoLens() throws {
        let model = try tinyModelFolder(), corpus = try textFile(corpusText), out = temporaryPath("latents")
        defer { for p in [model, corpus, out] { try? FileManager.default.removeItem(atPath: p) } }
        // An SAE on the 64-wide MLP activation has no logit lens.
        let sae = temporaryPath("sae")
        defer { try? FileManager.default.removeItem(atPath: sae) }
        try SAELensFormat.save(try SparseAutoencoder(width: 64, latents: 8, activation: .topK(2), seed: 1), to: sae)
        try SAELatentsCommand.parse(["--model", model, "--site", "L0.mlp_activation", "--sae", sae, "--corpus", corpus, "--out", out,
                                     "--window", "8", "--max-tokens", "40", "--json"]).run()
        let contents = try LatentCache.read(from: out)
        #expect(contents.logitLens == nil && contents.manifest.logitTokens == 0 && contents.manifest.sae.architecture == "topk")
        #expect(contents.manifest.corpus.tokens == 5 * 7)
    }

    @Test func badArgumentsAreTypedErrors() throws {
        let model = try tinyModelFolder(), corpus = try textFile(corpusText), sae = try saeFolder(), blank = try textFile("")
        defer { for p in [model, corpus, sae, blank] { try? FileManager.default.removeItem(atPath: p) } }
        let out = temporaryPath("never")
        let cases: [([String], String)] = [
            (["--top", "0"], "'top' has value 0"),
            (["--bins", "7"], "'bins' has value 7"),
            (["--context", "-1"], "'context' has value -1"),
            (["--tokens", "-2"], "'tokens' has value -2"),
            (["--batch", "0"], "'batch' has value 0"),
            (["--window", "1"], "'--window' has value 1"),
            (["--max-tokens", "3"], "'--max-tokens' has value 3"),
            (["--site", "nowhere"], "nowhere"),
            (["--site", "7:block_output"], "layer 7"),
            (["--site", "0:mlp_activation"], "'site' has value L0.mlp_activation"),
            (["--sae", "/no/such/sae"], "no such file or folder"),
            (["--corpus", "/no/such/corpus.txt"], "'--corpus' has value '/no/such/corpus.txt'"),
            (["--corpus", blank], "tokens)"),
            (["--model", "/no/such/model"], "/no/such/model"),
        ]
        for (extra, message) in cases {
            var arguments = ["--model", model, "--site", "0:block_output", "--sae", sae, "--corpus", corpus, "--out", out, "--window", "8", "--json"]
            arguments += extra
            let command = try SAELatentsCommand.parse(arguments)
            expectRefused(command, extra, message: message) { _ = try command.execute() }
        }
        #expect(!FileManager.default.fileExists(atPath: out))
        for malformed in [["--top", "many"], ["--unknown"]] {
            #expect(throws: (any Error).self) { try SAELatentsCommand.parse(["--model", model, "--site", "0:block_output", "--sae", sae, "--corpus", corpus, "--out", out] + malformed) }
        }
        #expect(throws: (any Error).self) { try SAELatentsCommand.parse(["--model", model, "--sae", sae, "--corpus", corpus, "--out", out]) }  // no --site
    }
}
