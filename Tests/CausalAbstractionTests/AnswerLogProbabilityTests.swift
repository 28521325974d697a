import Foundation
import Testing
@testable import CausalAbstraction
import Intervene
import Models
import Tensors

/// A tiny random GPT-2 whose vocabulary covers the golden BPE's 1000 ids.
func tinyTextGPT2() throws -> DecoderModel {
    let model = try GPT2Family.model(GPT2Family.config(vocabularySize: 1000, positions: 32, width: 16, layers: 2, heads: 2))
    model.initializeRandomly(seed: 7, std: 0.3)
    return model
}

/// Prompts of 11 and 12 tokens, answers of 3 and 4 tokens: three shapes among five examples;
/// the fourth intervenes with its own activation.
let capitalLines = [
    #"{"base": "The capital of Spain is", "source": "The capital of Italy is", "positions": ["Spain"], "source_positions": ["Italy"], "label": " Rome"}"#,
    #"{"base": "The capital of Spain is", "source": "The capital of Italy is", "positions": [-1], "source_positions": [-1], "label": " Rome"}"#,
    #"{"base": "The capital of Italy is", "source": "The capital of France is", "positions": ["Italy"], "source_positions": ["France"], "label": " Paris"}"#,
    #"{"base": "The capital of Italy is", "source": "The capital of Italy is", "positions": [-1], "label": " Paris"}"#,
    #"{"base": "The capital of France is", "source": "The capital of Spain is", "positions": [-1], "source_positions": [-1], "label": " Madrid"}"#,
]

@Suite struct AnswerLogProbabilityTests {
    /// log softmax(logits[0, position, :])[token], in Double.
    func logProbability(_ logits: Tensor, position: Int, token: Int) -> Double {
        let row = logits.narrowed(1, start: position, length: 1).scalars.map(Double.init)
        let top = row.max()!
        return row[token] - top - Foundation.log(row.reduce(0) { $0 + Foundation.exp($1 - top) })
    }

    func ids(_ input: InterventionExample.Input) -> [Int] {
        guard case .tokens(let t) = input else { return [] }
        return t
    }

    /// The answer's log-probability from one unbatched run of prompt + answer minus its last
    /// token, with the example's intervention (nil: the plain model).
    func byHand(_ example: InterventionExample, _ intervenable: IntervenableModel?, _ model: DecoderModel) throws -> Double {
        let prompt = ids(example.base), input = prompt + example.answer.dropLast()
        let tokens = ModelInput.tokens(IndexTensor(shape: [1, input.count], values: input))
        let logits = try intervenable.map {
            try $0.forward(base: tokens, sources: [.tokens(IndexTensor(shape: [1, ids(example.source).count], values: ids(example.source)))],
                           unitLocations: .positions(source: [example.sourcePositions], base: [example.basePositions])).intervened.output
        } ?? model.forward(tokens, options: ForwardOptions()).output
        return example.answer.enumerated().reduce(0) { $0 + logProbability(logits, position: prompt.count - 1 + $1.offset, token: $1.element) }
    }

    /// The metric on batches grouped by shape equals the log-probabilities computed by hand
    /// from single forwards; where the intervention swaps a run's own activation it equals the
    /// plain model's.
    @Test func multiTokenAnswersScoreTheirTeacherForcedLogProbabilities() throws {
        let model = try tinyTextGPT2()
        let examples = try InterventionExample.load(jsonl: writeTemporary(capitalLines.joined(separator: "\n")), classes: 1000, tokenizer: try goldenBPE)
        let intervenable = try IntervenableModel(config: IntervenableConfig(RepresentationConfig(layer: 0, component: .blockOutput), interventionType: .vanilla),
                                                 model: model)
        let expected = try examples.map { try byHand($0, intervenable, model) }
        #expect(abs(expected[3] - (try byHand(examples[3], nil, model))) < 1e-5)
        #expect(abs(expected[0] - (try byHand(examples[0], nil, model))) > 1e-3)  // the intervention matters elsewhere
        let groups = InterventionExample.batches(examples, size: 4, teacherForcing: true)
        #expect(groups.map { $0.map(\.answer.count) } == [[4, 4], [3, 3], [4]])
        let collate = InterventionExample.collator(representations: 1, subspaces: nil, teacherForcing: true)
        var measured: [Double] = []
        for group in groups {
            let batch = try collate(group)
            #expect(batch.labelPosition == ids(group[0].base).count - 1 && batch.base.sequenceLength == ids(group[0].base).count + group[0].answer.count)
            let output = try intervenable.forward(base: batch.base, sources: batch.sources, unitLocations: batch.unitLocations)
            measured += answerLogProbabilities(output.intervened.output, batch)
        }
        let order = groups.joined().map { example in examples.firstIndex { $0 == example }! }
        for (value, index) in zip(measured, order) { #expect(abs(value - expected[index]) < 1e-4, "example \(index): \(value) vs \(expected[index])") }
        var options = TrainingOptions()
        options.batchSize = 1
        let trainer = InterventionTrainer<[InterventionExample]>(model: intervenable, collator: { try collate($0.flatMap { $0 }) },
                                                                 metrics: [.answerLogProbability, .interchangeInterventionAccuracy], options: options)
        let metrics = try trainer.evaluate(groups)
        #expect(abs(metrics["answer_log_prob"]! - expected.reduce(0, +) / 5) < 1e-4)
        let plain = InterventionTrainer<[InterventionExample]>(model: intervenable, collator: {
            try InterventionExample.collator(representations: 1, subspaces: nil)($0.flatMap { $0 })
        }, metrics: [.answerLogProbability, .interchangeInterventionAccuracy], options: options)
        let firstTokens = try plain.evaluate(InterventionExample.batches(examples, size: 4))
        #expect(metrics["iia"] == firstTokens["iia"])  // IIA reads the first token, with or without the appended answer
        let firstTokenByHand = try examples.map { example -> Double in
            var single = example
            single.answerTokens = nil
            return try byHand(single, intervenable, model)
        }
        #expect(abs(firstTokens["answer_log_prob"]! - firstTokenByHand.reduce(0, +) / 5) < 1e-4)
    }

    /// Batches the collator cannot stack are refused naming what differs.
    @Test func teacherForcingNeedsOneAnswerLengthPerBatch() throws {
        let examples = try InterventionExample.load(jsonl: writeTemporary(capitalLines.joined(separator: "\n")), tokenizer: try goldenBPE)
        let collate = InterventionExample.collator(representations: 1, subspaces: nil, teacherForcing: true)
        #expect(throws: ConfigurationError.invalidField(field: "answer lengths", value: "[3, 4]",
                                                        allowed: "one length within a teacher-forced batch (see InterventionExample.batches)")) {
            try collate([examples[2], examples[3].with(answer: [1, 2, 3, 4])])
        }
        #expect(throws: ConfigurationError.invalidField(field: "base inputs", value: "lengths [11, 12]", allowed: "one length within a batch (see InterventionExample.batches)")) {
            try collate([examples[0], examples[2]])
        }
        #expect(InterventionExample.haveOneShape([examples[0], examples[1]], teacherForcing: true))
        #expect(!InterventionExample.haveOneShape([examples[0], examples[0].with(answer: [221])], teacherForcing: true))
        #expect(InterventionExample.haveOneShape([examples[0], examples[0].with(answer: [221])]))
    }
}

extension InterventionExample {
    func with(answer: [Int]) -> InterventionExample {
        var copy = self
        copy.label = answer[0]
        copy.answerTokens = answer
        return copy
    }
}
