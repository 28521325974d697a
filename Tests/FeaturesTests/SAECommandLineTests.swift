import Foundation
import InterveneTestSupport
import Testing
import Features
import Models
import Tensors

/// `intervene sae train` and `sae eval` end to end on a tiny GPT-2 folder (random weights, the
/// 700-token BPE fixture tokenizer), and every bad argument a typed error with exit code 2.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: interveneBinary), "needs the intervene binary (swift build)"))
struct SAECommandLineTests {
    /// A model folder, a corpus file and a scratch folder.
    func fixture() throws -> (model: String, corpus: String, scratch: String) {
        let scratch = NSTemporaryDirectory() + "sae-cli-\(UUID().uuidString)"
        let model = scratch + "/tiny-gpt2"
        try FileManager.default.createDirectory(atPath: model, withIntermediateDirectories: true)
        let gpt2 = try GPT2Family.model(GPT2Family.config(vocabularySize: 700, positions: 64, width: 16, layers: 2, heads: 2))
        gpt2.initializeRandomly(seed: 2, std: 0.2)
        try gpt2.save(to: model + "/model.safetensors")
        try #"{"model_type": "gpt2", "vocab_size": 700, "n_positions": 64, "n_embd": 16, "n_layer": 2, "n_head": 2}"#
            .write(toFile: model + "/config.json", atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(atPath: repositoryRoot + "/Tests/Fixtures/tokenizers/bpe-qwen2/tokenizer.json", toPath: model + "/tokenizer.json")
        let corpus = scratch + "/corpus.txt"
        try (1...60).map { "Sentence \($0): the quick brown fox jumps over the lazy dog, again and again.\n" }.joined()
            .write(toFile: corpus, atomically: true, encoding: .utf8)
        return (model, corpus, scratch)
    }

    @Test func trainThenEvaluate() throws {
        let (model, corpus, scratch) = try fixture()
        let out = scratch + "/sae", metrics = scratch + "/metrics.json", evaluation = scratch + "/eval.json"
        let train = try runIntervene(["sae", "train", "--model", model, "--site", "1:block_output", "--corpus", corpus, "--architecture", "topk",
                                      "--k", "4", "--latents", "32", "--steps", "6", "--batch", "64", "--buffer", "256", "--context", "16",
                                      "--windows", "4", "--lr", "3e-3", "--out", out, "--metrics-json", metrics, "--json"])
        #expect(train.status == 0, "\(train.error)")
        let printed = try #require(try JSONSerialization.jsonObject(with: Data(train.output.utf8)) as? [String: Any])
        #expect((printed["metrics"] as? [String: Any])?["steps"] as? Int == 6)
        let written = try JSONDecoder().decode(SAETrainingMetrics.self, from: Data(contentsOf: URL(fileURLWithPath: metrics)))
        #expect(written.steps == 6 && written.tokens == 6 * 64 && written.latents == 32 && written.k == 4)
        let sae = try SAELensFormat.load(folder: out)
        #expect(sae.width == 16 && sae.latents == 32 && sae.activation == .topK(4))
        let eval = try runIntervene(["sae", "eval", "--sae", out, "--model", model, "--site", "1:block_output", "--corpus", corpus,
                                     "--context", "16", "--tokens", "200", "--json", "--out", evaluation])
        #expect(eval.status == 0, "\(eval.error)")
        let result = try JSONDecoder().decode(SAEEvaluation.self, from: Data(eval.output.utf8))
        #expect(result.tokens >= 200 && result.meanL0 <= 4 && result.varianceExplained.isFinite && result.lossRecovered.isFinite)
        #expect(try JSONDecoder().decode(SAEEvaluation.self, from: Data(contentsOf: URL(fileURLWithPath: evaluation))) == result)
        // Plain output names the figures.
        let plain = try runIntervene(["sae", "eval", "--sae", out, "--model", model, "--site", "1:block_output", "--corpus", corpus,
                                      "--context", "16", "--tokens", "60"])
        #expect(plain.status == 0 && plain.output.contains("variance explained") && plain.output.contains("CE loss recovered"))
    }

    @Test func badArgumentsAreTypedErrors() throws {
        let (model, corpus, scratch) = try fixture()
        let base = ["sae", "train", "--model", model, "--site", "1:block_output", "--corpus", corpus, "--latents", "32", "--k", "4",
                    "--batch", "64", "--buffer", "256", "--context", "16", "--out", scratch + "/x"]
        let cases: [([String], String)] = [
            (base + ["--steps", "2", "--architecture", "gated"], "--architecture"),
            (base + ["--steps", "0"], "--steps"),
            (base + ["--steps", "2", "--tokens", "100"], "--steps/--tokens"),
            (base, "--steps/--tokens"),
            (base + ["--steps", "2", "--lr", "-1"], "--lr"),
            (base + ["--steps", "2", "--l1", "nan"], "--l1"),
            (base + ["--steps", "2", "--k", "40"], "--k"),
            (base + ["--steps", "2", "--batch", "0"], "--batch"),
            (base + ["--steps", "2", "--buffer", "10"], "--buffer"),
            (base + ["--steps", "2", "--context", "1"], "--context"),
            (base + ["--steps", "2", "--skip-positions", "-1"], "--skip-positions"),
            (base + ["--steps", "2", "--seed", "-3"], "--seed"),
            (base + ["--steps", "2", "--sink-ratio", "0.5"], "--sink-ratio"),
            (base + ["--steps", "2", "--reuse", "0"], "--reuse"),
            (base + ["--steps", "2", "--site", "9:block_output"], "layer"),
            (base + ["--steps", "2", "--site", "0:head_query_output"], "site"),
            (base + ["--steps", "2", "--site", "nonsense"], "nonsense"),
            (base + ["--steps", "2", "--corpus", "/no/such/corpus.txt"], "corpus"),
            (base + ["--steps", "2", "--model", "/no/such/model"], "no/such/model"),
            (["sae", "eval", "--sae", "/no/such/sae", "--model", model, "--site", "1:block_output", "--corpus", corpus], "no/such/sae"),
            (["sae", "eval", "--sae", scratch, "--model", model, "--site", "1:block_output", "--corpus", corpus, "--tokens", "0"], "--tokens"),
        ]
        for (arguments, mention) in cases {
            let run = try runIntervene(arguments)
            #expect(run.status == 2, "\(arguments.suffix(4)): exit \(run.status), \(run.error)")
            #expect(run.error.contains(mention), "\(arguments.suffix(4)): '\(run.error)' does not mention \(mention)")
        }
        // An SAE of another width than the site's.
        let sae = try SparseAutoencoder(width: 16, latents: 8, activation: .relu)
        try SAELensFormat.save(sae, to: scratch + "/narrow")
        let wrong = try runIntervene(["sae", "eval", "--sae", scratch + "/narrow", "--model", model, "--site", "0:mlp_activation", "--corpus", corpus])
        #expect(wrong.status == 2 && wrong.error.contains("width"), "\(wrong.error)")
    }
}
