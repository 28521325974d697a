import ArgumentParser
import Foundation
import Testing
import Features
import Intervene
@testable import InterveneCLI
import Models
import Tensors

/// The golden BPE tokenizer (1000 tokens), from GOLDEN_PATH or ../shared/golden.
let goldenTokenizerPath: String = {
    var root = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { root.deleteLastPathComponent() }
    let folders = (ProcessInfo.processInfo.environment["GOLDEN_PATH"] ?? "").split(separator: ":").map(String.init) + [root.path + "/../shared/golden"]
    let paths = folders.map { $0 + "/bpe-tokenizer/tokenizer.json" }
    return paths.first { FileManager.default.fileExists(atPath: $0) } ?? paths.last!
}()

/// A fresh temporary path.
func temporaryPath(_ name: String) -> String { NSTemporaryDirectory() + "intervene-cli-\(name)-\(UUID().uuidString)" }

/// A tiny GPT-2 checkpoint folder (vocabulary 1000, 32 positions, width 16, 2 layers) with the
/// golden tokenizer.json beside it.
func tinyModelFolder() throws -> String {
    let folder = temporaryPath("model")
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    try Data(#"{"model_type": "gpt2", "vocab_size": 1000, "n_positions": 32, "n_embd": 16, "n_layer": 2, "n_head": 2}"#.utf8)
        .write(to: URL(fileURLWithPath: folder + "/config.json"))
    let model = try GPT2Family.model(GPT2Family.config(vocabularySize: 1000, positions: 32, width: 16, layers: 2, heads: 2))
    model.initializeRandomly(seed: 7, std: 0.3)
    try model.save(to: folder + "/model.safetensors")
    try FileManager.default.copyItem(atPath: goldenTokenizerPath, toPath: folder + "/tokenizer.json")
    return folder
}

/// A file holding `text`.
func textFile(_ text: String) throws -> String {
    let path = temporaryPath("text") + ".txt"
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    return path
}

let corpusText = String(repeating: """
The capital of Spain is Madrid. The capital of Italy is Rome. The capital of France is Paris.
Once upon a time a cat sat on the mat, and the dog sat on the log.

""", count: 4)

/// `intervene codebook train`, parsed and run in-process.
@Suite struct CodebookTrainCommandTests {
    @Test func trainsAndWritesABundleThatLoadsBackAndFeedsTheCache() throws {
        let folder = try tinyModelFolder(), corpus = try textFile(corpusText)
        let bundle = temporaryPath("bundle"), metrics = temporaryPath("metrics") + ".json", cache = temporaryPath("cache")
        defer { for p in [folder, corpus, bundle, metrics, cache] { try? FileManager.default.removeItem(atPath: p) } }
        let command = try CodebookTrainCommand.parse([
            "--model", folder, "--corpus", corpus, "--context", "8", "--at", "mlp", "--layers", "0,-1", "--codes", "12", "--k", "2",
            "--steps", "6", "--batch", "4", "--lr", "0.01", "--kmeans-init", "--replace-dead-every", "3", "--seed", "3",
            "--out", bundle, "--metrics-json", metrics, "--json",
        ])
        let (trained, report) = try command.execute()
        #expect(report.training.steps == 6 && report.replacementRounds == 2)
        #expect(report.metricsAfter.map(\.name) == ["L0.mlp", "L1.mlp"])

        // The bundle loads onto the same checkpoint and gives the same codes and logits.
        let base = try #require(try ModelLoader.load(folder: folder).model as? DecoderModel)
        let loaded = try CodebookBundle.load(from: bundle, onto: base)
        let ids = IndexTensor(shape: [1, 6], values: [52, 267, 277, 321, 379, 293])
        let a = try Tensor.withoutGradients { try trained.forward(ids) }, b = try Tensor.withoutGradients { try loaded.forward(ids) }
        #expect(a.codes == b.codes && a.logits.scalars == b.logits.scalars)
        #expect(loaded.codebook(named: "L1.mlp")?.k == 2 && loaded.codebook(named: "L1.mlp")?.codeCount == 12)

        // The metrics file.
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: metrics))) as? [String: Any])
        #expect(json["steps"] as? Int == 6 && json["kmeans_init"] as? Bool == true && json["replaced_codes"] as? Int == report.replacedCodes)
        #expect((json["codebooks"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["L0.mlp", "L1.mlp"])
        #expect(json["layers"] as? [Int] == [0, 1] && (json["windows"] as? Int ?? 0) >= 24)

        // `intervene codebook cache` reads the bundle.
        let prompts = try textFile("The capital of Spain is\nOnce upon a time\n")
        defer { try? FileManager.default.removeItem(atPath: prompts) }
        try CodebookCacheCommand.parse(["--model", folder, "--codebooks", bundle, "--prompts", prompts, "--out", cache, "--json"]).run()
        let (manifest, codes) = try CodebookCache.read(from: cache)
        #expect(manifest.codebooks.map(\.name) == ["L0.mlp", "L1.mlp"] && manifest.documents == 2)
        #expect(try codes.codebook(named: "L1.mlp").k == 2)
    }

    @Test func trainingTheModelWritesItsWeightsForTheBundle() throws {
        let folder = try tinyModelFolder(), corpus = try textFile(corpusText)
        let bundle = temporaryPath("bundle"), trainedFolder = temporaryPath("trained")
        defer { for p in [folder, corpus, bundle, trainedFolder] { try? FileManager.default.removeItem(atPath: p) } }
        try FileManager.default.copyItem(atPath: folder, toPath: trainedFolder)
        let command = try CodebookTrainCommand.parse([
            "--model", folder, "--corpus", corpus, "--context", "8", "--layers", "1", "--codes", "6", "--steps", "3", "--batch", "2",
            "--lr", "0.05", "--train-model", "--model-out", trainedFolder + "/model.safetensors", "--out", bundle, "--json",
        ])
        let (trained, _) = try command.execute()
        // The bundle fits the trained weights, not the original checkpoint.
        let original = try #require(try ModelLoader.load(folder: folder).model as? DecoderModel)
        #expect(throws: BundleError.self) { try CodebookBundle.load(from: bundle, onto: original) }
        let base = try #require(try ModelLoader.load(folder: trainedFolder).model as? DecoderModel)
        let loaded = try CodebookBundle.load(from: bundle, onto: base)
        let ids = IndexTensor(shape: [1, 5], values: [52, 267, 277, 321, 379])
        let a = try Tensor.withoutGradients { try trained.forward(ids) }, b = try Tensor.withoutGradients { try loaded.forward(ids) }
        #expect(a.codes == b.codes && a.logits.scalars == b.logits.scalars)
    }

    @Test func flagsMapOntoTheSpecAndOptions() throws {
        let command = try CodebookTrainCommand.parse([
            "--model", "m", "--corpus", "c", "--out", "o", "--at", "attn_preproj", "--groups", "-1", "--layers", "-1", "--objective", "vqvae-0.5",
            "--similarity", "euclidean", "--train-model", "--model-out", "w.safetensors", "--steps", "3", "--batch", "2", "--lr", "0.5", "--replace-dead-every", "7",
        ])
        let spec = try command.codebookSpec()
        #expect(spec == CodebookSpec(placement: .attentionPreprojection, layers: [-1], codeCount: 1024, k: 1, groups: -1,
                                     similarity: .euclidean, objective: .vqvae(beta: 0.5)))
        let options = try command.trainingOptions()
        #expect(options == CodebookCorpusTrainingOptions(steps: 3, batchSize: 2, learningRate: 0.5, trainModel: true, replaceDeadEvery: 7))
        #expect(try CodebookTrainCommand.parse(["--model", "m", "--corpus", "c", "--out", "o"]).codebookSpec().layers == nil)
    }

    /// Every bad argument is a typed error naming its flag (or the codebook field), and `run`
    /// turns it into exit code 2; malformed command lines are parse errors. Nothing crashes.
    @Test func badArgumentsAreTypedErrors() throws {
        let folder = try tinyModelFolder(), corpus = try textFile(corpusText), blank = try textFile(" \n\n "), short = try textFile("Hi")
        defer { for p in [folder, corpus, blank, short] { try? FileManager.default.removeItem(atPath: p) } }
        let out = temporaryPath("never")
        let cases: [([String], String)] = [
            (["--corpus", "/no/such/corpus.txt"], "--corpus is '/no/such/corpus.txt' (missing or unreadable)"),
            (["--corpus", blank], "(empty)"),
            (["--corpus", short, "--context", "16"], "a text of at least --context = 16 tokens"),
            (["--at", "nowhere"], "--at is 'nowhere'; allowed: transformer_block, mlp, mlp_mid, attn, attn_preproj, qkv"),
            (["--codes", "0"], "--codes is 0; allowed: an integer ≥ 1"),
            (["--codes", "4", "--k", "5"], "--k is 5; allowed: 1...4"),
            (["--groups", "0"], "--groups is 0"),
            (["--at", "attn_preproj", "--groups", "3"], "3 groups do not divide the width 16"),
            (["--layers", "0,x"], "--layers is '0,x'"),
            (["--layers", "7"], "'layers' is 7; allowed: -2..<2"),
            (["--objective", "adam"], "--objective is 'adam'"),
            (["--similarity", "cosine"], "--similarity is 'cosine'"),
            (["--context", "1"], "--context is 1; allowed: an integer ≥ 2"),
            (["--context", "33"], "--context is 33; allowed: 2...32"),
            (["--lr", "0"], "--lr is 0.0"),
            (["--steps", "-1"], "--steps is -1"),
            (["--batch", "0"], "--batch is 0"),
            (["--replace-dead-every", "-2"], "--replace-dead-every is -2"),
            (["--replace-noise", "-1"], "--replace-noise is -1.0"),
            (["--kmeans-init", "--codes", "600", "--kmeans-rows", "600"], "k-means data is"),
            (["--kmeans-init", "--codes", "20", "--kmeans-rows", "10"], "--kmeans-rows is 10"),
            (["--model", "/no/such/model"], "/no/such/model"),
            (["--train-model"], "--model-out is missing"),
            (["--model-out", out + ".safetensors"], "without --train-model"),
        ]
        for (extra, message) in cases {
            var arguments = ["--model", folder, "--corpus", corpus, "--context", "8", "--codes", "4", "--steps", "1", "--out", out, "--json"]
            arguments += extra
            let command = try CodebookTrainCommand.parse(arguments)
            expectRefused(command, extra, message: message) { _ = try command.execute() }
        }
        #expect(!FileManager.default.fileExists(atPath: out))
        for malformed in [["--codes", "many"], ["--lr", "fast"], ["--seed", "-3"], ["--unknown"]] {
            #expect(throws: (any Error).self) { try CodebookTrainCommand.parse(["--model", folder, "--corpus", corpus, "--out", out] + malformed) }
        }
        #expect(throws: (any Error).self) { try CodebookTrainCommand.parse(["--model", folder, "--corpus", corpus]) }  // no --out
    }
}
