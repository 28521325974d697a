import Foundation
import Testing
@testable import CausalAbstraction
import Intervene
import Models
import Tensors

@Suite struct CounterfactualDatasetTests {
    @Test func jsonLinesRoundTripAndValidation() throws {
        let model = try HierarchicalEqualityTask.causalModel(objects: 5)
        let examples = try CounterfactualDataset.sample(model, count: 20, variables: [["WX"]], seed: 1)
        #expect(examples == (try CounterfactualDataset.sample(model, count: 20, variables: [["WX"]], seed: 1)))
        let text = try CounterfactualDataset.jsonLines(examples)
        #expect(text.split(separator: "\n").count == 20 && text.contains("\"counterfactual_label\":"))
        let path = NSTemporaryDirectory() + "cf-\(UUID().uuidString).jsonl"
        try CounterfactualDataset.write(examples, to: path)
        #expect(try CounterfactualDataset.read(contentsOf: path, model: model) == examples)
        var wrong = examples[0]
        wrong.counterfactualLabel = .bool(!(wrong.counterfactualLabel.boolValue!))
        #expect(throws: CausalModelError.self) { try CounterfactualDataset.read(jsonLines: try CounterfactualDataset.jsonLines([wrong]), model: model) }
        do { _ = try CounterfactualDataset.read(jsonLines: "\n{\"base\": 3}\n"); Issue.record("expected an error") } catch CausalModelError.malformedJSON(let reason) {
            #expect(reason.hasPrefix("line 2: base:"))
        }
        let two = try CounterfactualDataset.sample(model, count: 5, variables: [["WX"], ["YZ"]], seed: 2)
        for e in two {
            let expected = try model.run(inputs: e.base, interventions: ["WX": try model.run(inputs: e.sources[0])["WX"]!, "YZ": try model.run(inputs: e.sources[1])["YZ"]!])
            #expect(e.sources.count == 2 && e.counterfactualLabel == expected["O"])
        }
    }

    @Test func vectorTemplateMatchesTheTaskExamplesAndFeedsTheCollator() throws {
        let task = HierarchicalEqualityTask(seed: 0)
        let model = try HierarchicalEqualityTask.causalModel()
        let examples = try CounterfactualDataset.sample(model, count: 16, variables: [["WX"]], seed: 9, draw: HierarchicalEqualityTask.causalInputSampler())
        let template = CounterfactualTemplate.vectors(classes: [.bool(false), .bool(true)]) { setting in
            [task.inputs([HierarchicalEqualityTask.objectIDs(setting)!]).scalars]
        }
        let rendered = try template.render(examples)
        let pairs = examples.map { HierarchicalEqualityTask.Example(base: HierarchicalEqualityTask.objectIDs($0.base)!, source: HierarchicalEqualityTask.objectIDs($0.sources[0])!) }
        #expect(rendered == task.interventionExamples(pairs, variable: .leftEquality))
        let batch = try InterventionExample.collator(representations: 1, subspaces: nil)(rendered)
        guard case .embeddings(let x) = batch.base else { Issue.record("expected embeddings"); return }
        #expect(x.shape == [16, 1, 16] && batch.labels == rendered.map(\.label))
        // Two sources render to two-source examples (see MultiSourceExampleTests); a template with
        // locations for another number of sources is refused.
        let twoSources = try CounterfactualDataset.sample(model, count: 1, variables: [["WX"], ["YZ"]], seed: 1)
        var oneLocation = template
        oneLocation.locationsBySource = [.init(base: [0], source: [0])]
        #expect(throws: CausalModelError.self) { try oneLocation.render(twoSources) }
    }

    @Test func textTemplateTokenizes() throws {
        let model = try HierarchicalEqualityTask.causalModel(objects: 3)
        let examples = try CounterfactualDataset.sample(model, count: 4, variables: [["YZ"]], seed: 5)
        let tokenizer = LetterTokenizer()
        let template = CounterfactualTemplate.text(tokenizer: tokenizer, basePositions: [-1],
                                                   text: { s in ["W", "X", "Y", "Z"].map { s[$0]!.description }.joined() },
                                                   answer: { $0 == .bool(true) ? "y" : "n" })
        let rendered = try template.render(examples)
        for (r, e) in zip(rendered, examples) {
            #expect(r.base == .tokens(["W", "X", "Y", "Z"].map { e.base[$0]!.intValue! }))
            #expect(r.label == (e.counterfactualLabel == .bool(true) ? 10 + 24 : 10 + 13) && r.basePositions == [-1])
        }
    }
}

/// Digits 0–9 are ids 0–9, letters a–z ids 10–35.
struct LetterTokenizer: Tokenizer {
    func encode(_ text: String, addSpecialTokens: Bool) -> Encoding {
        Encoding(ids: text.unicodeScalars.map { $0.properties.numericType != nil ? Int($0.value) - 48 : Int($0.value) - 97 + 10 })
    }
    func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String { "" }
    var vocabularySize: Int { 36 }
    var paddingId: Int { 0 }
    func id(of token: String) -> Int? { nil }
}
