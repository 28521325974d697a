import Foundation
import Testing
@testable import CausalAbstraction
import Intervene
import Models
import Tensors

@Suite struct TextExperimentTests {
    /// The tiny GPT-2 as a checkpoint folder, with the golden tokenizer.json beside it or not.
    func checkpoint(withTokenizer: Bool) throws -> (folder: String, model: DecoderModel) {
        let model = try tinyTextGPT2()
        let folder = NSTemporaryDirectory() + "text-gpt2-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data(#"{"model_type": "gpt2", "vocab_size": 1000, "n_positions": 32, "n_embd": 16, "n_layer": 2, "n_head": 2}"#.utf8)
            .write(to: URL(fileURLWithPath: folder + "/config.json"))
        try model.save(to: folder + "/model.safetensors")
        if withTokenizer {
            try FileManager.default.copyItem(atPath: goldenBPEPath, toPath: folder + "/tokenizer.json")
        }
        return (folder, model)
    }

    func experiment(model folder: String, train: String, test: String, bundle: String) -> String {
        writeTemporary("""
        {"name": "capitals", "seed": 0, "model": {"path": "\(folder)"},
         "data": {"train": \(train), "test": \(test)},
         "representations": [{"layer": 0, "component": "block_output", "low_rank_dimension": 2}],
         "intervention_types": "LowRankRotatedSpaceIntervention",
         "training": {"epochs": 2, "batch_size": 2, "learning_rate": 0.01}, "output": {"bundle": "\(bundle)"}}
        """, suffix: ".json")
    }

    /// Inline text examples of several lengths train with the checkpoint's tokenizer.json, in
    /// batches grouped by shape, and the test metrics include the multi-token answer score of
    /// the trained intervention.
    @Test func inlineTextExamplesTrainAndReportTheAnswerScore() throws {
        let (folder, model) = try checkpoint(withTokenizer: true)
        let bundle = NSTemporaryDirectory() + "text-bundle-\(UUID().uuidString)"
        let list = "[" + capitalLines.joined(separator: ",\n") + "]"
        let path = experiment(model: folder, train: list, test: list, bundle: bundle)
        var runner = ExperimentRunner(experiment: try Experiment.load(path: path), file: path)
        runner.progress = .silent
        let metrics = try runner.run(command: "test")
        #expect(metrics["steps"] == 6)  // 2 epochs of 3 batches: [Spain, Spain], [Italy, Italy], [France]
        let manifest = try InterventionBundle.manifest(at: bundle)
        #expect(manifest.json["provenance"]?["data"]?.stringValue == "inline:5 examples / inline:5 examples")
        let trained = try InterventionBundle.load(from: bundle, model: model)
        let collate = InterventionExample.collator(representations: 1, subspaces: nil, teacherForcing: true)
        var options = TrainingOptions()
        options.batchSize = 1
        let examples = try runner.data(classes: 1000).test
        let again = try InterventionTrainer<[InterventionExample]>(model: trained, collator: { try collate($0.flatMap { $0 }) },
                                                                   metrics: [.answerLogProbability], options: options)
            .evaluate(InterventionExample.batches(examples, size: 2, teacherForcing: true))
        #expect(abs(metrics["answer_log_prob"]! - again["answer_log_prob"]!) < 1e-4 && metrics["answer_log_prob"]! < 0)
        #expect(metrics["iia"] != nil)
    }

    /// Without a tokenizer, text names the experiment file and the example's field; a tokenizer
    /// given to the runner (a loaded model's) or named in the experiment is used.
    @Test func textNeedsATokenizerAndInlineKeysAreChecked() throws {
        let (folder, _) = try checkpoint(withTokenizer: false)
        let list = "[" + capitalLines.prefix(2).joined(separator: ", ") + "]"
        let path = experiment(model: folder, train: list, test: list, bundle: "unused")
        var runner = ExperimentRunner(experiment: try Experiment.load(path: path), file: path)
        #expect(throws: ExperimentError.textWithoutTokenizer(file: path, field: "data.train[0].base")) { try runner.data() }
        runner.tokenizer = try goldenBPE
        #expect(try runner.data().train[0].answerTokens == romeIds)
        let named = writeTemporary(try String(contentsOfFile: path, encoding: .utf8)
            .replacingOccurrences(of: #""path": "\#(folder)""#, with: #""path": "\#(folder)", "tokenizer": "\#(goldenBPEPath)""#), suffix: ".json")
        #expect(try ExperimentRunner(experiment: try Experiment.load(path: named), file: named).data().test[1].basePositions == [10])
        let misspelled = writeTemporary(try String(contentsOfFile: path, encoding: .utf8)
            .replacingOccurrences(of: #""positions": [-1], "source_positions""#, with: #""postions": [-1], "source_positions""#), suffix: ".json")
        #expect(throws: ExperimentError.unknownKey(file: misspelled, key: "postions", path: "data.train[1].postions", allowed: InterventionExample.jsonKeys)) {
            try Experiment.load(path: misspelled)
        }
        let badPosition = writeTemporary(try String(contentsOfFile: path, encoding: .utf8)
            .replacingOccurrences(of: #""positions": ["Spain"]"#, with: #""positions": ["Spian"]"#), suffix: ".json")
        runner = ExperimentRunner(experiment: try Experiment.load(path: badPosition), file: badPosition)
        runner.tokenizer = try goldenBPE
        guard case .invalid(badPosition, "data.train[0].positions", #""Spian""#, let expected)? = catching({ try runner.data() }) else {
            Issue.record("expected the misspelled substring to be named"); return
        }
        #expect(expected.hasPrefix(#"a substring that occurs in the base text; the base "The capital of Spain is" has 11 tokens"#))
    }

    /// The shipped text experiment parses, and each substring names the country's last token
    /// (the one before " is").
    @Test func shippedTextExperimentResolvesItsPositions() throws {
        let path = ExperimentTests.root + "/Experiments/capitals-smollm2.json"
        var runner = ExperimentRunner(experiment: try Experiment.load(path: path), file: path)
        runner.tokenizer = try goldenBPE
        let (train, test, description) = try runner.data()
        #expect(train.count == 12 && test.count == 4 && description == "inline:12 examples / inline:4 examples")
        for e in train + test {
            #expect(e.basePositions == [e.base.length - 2] && e.sourcePositions == [e.source.length - 2] && e.answerTokens != nil)
        }
    }

    func catching(_ body: () throws -> Any) -> ExperimentError? {
        do { _ = try body() } catch let e as ExperimentError { return e } catch { Issue.record("unexpected \(error)") }
        return nil
    }
}
