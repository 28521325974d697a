import Testing
import Features
import Intervene
import Models
import Tensors

/// Codebook training on caller-given token sequences: codebooks only (model frozen) or both.
@Suite struct CodebookCorpusTrainingTests {
    /// Sequences that follow a fixed pattern (a next-token task a tiny model can learn).
    let sequences: [[Int]] = (0..<24).map { r in (0..<10).map { (r + 7 * $0) % 13 + 1 } }
    let specs = [CodebookSpec(placement: .mlp, layers: [0], codeCount: 16, k: 2),
                 CodebookSpec(placement: .attentionPreprojection, layers: [1], codeCount: 8, groups: 2)]

    /// Every base-model parameter's values by name (inserted codebooks left out).
    func baseWeights(_ model: DecoderModel) -> [String: [Float]] {
        Dictionary(uniqueKeysWithValues: model.namedParameters.filter { !$0.key.hasPrefix("insertions.") }.map { ($0.key, $0.parameter.value.scalars) })
    }

    @Test func codebooksOnlyTrainingLowersTheLossAndLeavesTheModelAlone() throws {
        let codebooks = try CodebookModel(model: tinyGPT2(), specs: specs, seed: 2)
        let weights = baseWeights(codebooks.model)
        let codes = codebooks.codebook(named: "L0.mlp")!.codes.value.scalars
        var steps: [Int] = []
        let options = CodebookCorpusTrainingOptions(steps: 40, batchSize: 6, learningRate: 0.01, seed: 1)
        let report = try CodebookCorpusTraining.fit(codebooks, sequences: sequences, evaluation: Array(sequences.suffix(8)), options: options) {
            steps.append($0.step)
            #expect($0.steps == 40 && $0.loss.isFinite && $0.replacedCodes == 0)
        }
        #expect(steps == Array(1...40))
        #expect(report.evaluationLossAfter < report.evaluationLossBefore - 0.05,
                "loss \(report.evaluationLossBefore) → \(report.evaluationLossAfter)")
        #expect(report.training.steps == 40 && report.training.tokens == 40 * 6 * 9)
        #expect(baseWeights(codebooks.model) == weights)
        #expect(codebooks.model.namedParameters.filter { !$0.key.hasPrefix("insertions.") }.allSatisfy { $0.parameter.grad == nil })
        #expect(codebooks.codebook(named: "L0.mlp")!.codes.value.scalars != codes)
        #expect(report.metricsAfter.map(\.name) == ["L0.mlp", "L1.attn_preproj.g0", "L1.attn_preproj.g1"])
        #expect(report.metricsBefore.count == 3 && report.replacedCodes == 0 && report.replacementRounds == 0)
        // Trainability is restored: the model frozen (as loaded), the codebooks trainable.
        #expect(codebooks.model.namedParameters.allSatisfy { $0.parameter.isTrainable == $0.key.hasPrefix("insertions.") })
    }

    @Test func theModelTrainsWhenAsked() throws {
        let codebooks = try CodebookModel(model: tinyGPT2(), specs: specs, seed: 2)
        codebooks.model.freeze()
        let weights = baseWeights(codebooks.model)
        let options = CodebookCorpusTrainingOptions(steps: 5, batchSize: 4, learningRate: 0.01, trainModel: true)
        _ = try CodebookCorpusTraining.fit(codebooks, sequences: sequences, options: options)
        let after = baseWeights(codebooks.model)
        #expect(after["transformer.h.0.mlp.c_fc.weight"] != weights["transformer.h.0.mlp.c_fc.weight"])
        #expect(after["transformer.wte.weight"] != weights["transformer.wte.weight"])
        // Frozen before, frozen after.
        #expect(codebooks.model.namedParameters.allSatisfy { !$0.parameter.isTrainable })
    }

    @Test func deadCodesAreReplacedEveryNSteps() throws {
        let codebooks = try CodebookModel(model: tinyGPT2(), specs: [CodebookSpec(placement: .mlp, layers: [1], codeCount: 64)], seed: 2)
        var replacedAt: [Int] = []
        let options = CodebookCorpusTrainingOptions(steps: 9, batchSize: 2, learningRate: 0.01, replaceDeadEvery: 3, seed: 4)
        let report = try CodebookCorpusTraining.fit(codebooks, sequences: sequences, options: options) {
            if $0.replacedCodes > 0 { replacedAt.append($0.step) }
        }
        #expect(report.replacementRounds == 3)
        #expect(replacedAt == [3, 6, 9])  // 3 steps of 2·9 rows select at most 54 of 64 codes
        #expect(report.replacedCodes >= 3 * 10)
    }

    @Test func theSeedFixesTheRun() throws {
        func run() throws -> [Float] {
            let codebooks = try CodebookModel(model: tinyGPT2(), specs: specs, seed: 2)
            let options = CodebookCorpusTrainingOptions(steps: 4, batchSize: 5, learningRate: 0.01, replaceDeadEvery: 2, seed: 9)
            _ = try CodebookCorpusTraining.fit(codebooks, sequences: sequences, options: options)
            return codebooks.codebook(named: "L0.mlp")!.codes.value.scalars
        }
        #expect(try run() == run())
    }

    @Test func windowsCutTheTokenStream() throws {
        #expect(try CodebookCorpusTraining.windows(Array(0..<10), length: 4) == [[0, 1, 2, 3], [4, 5, 6, 7]])
        #expect(try CodebookCorpusTraining.windows(Array(0..<3), length: 4) == [])
        #expect(throws: TrainingError.invalidOption(name: "context", value: "1", allowed: "an integer ≥ 2")) {
            try CodebookCorpusTraining.windows([1, 2], length: 1)
        }
    }

    @Test func badInputsAreTypedErrors() throws {
        let codebooks = try CodebookModel(model: tinyGPT2(), specs: specs)
        func fit(_ sequences: [[Int]], _ options: CodebookCorpusTrainingOptions) throws {
            _ = try CodebookCorpusTraining.fit(codebooks, sequences: sequences, options: options)
        }
        let ok = CodebookCorpusTrainingOptions(steps: 1)
        #expect(throws: TrainingError.emptyDataset("sequences")) { try fit([], ok) }
        #expect(throws: TrainingError.invalidBatch(field: "sequences[1]", value: "3 tokens", allowed: "at least 2 tokens, as many as sequences[0] (4)")) {
            try fit([[1, 2, 3, 4], [1, 2, 3]], ok)
        }
        #expect(throws: TrainingError.self) { try fit([[1], [2]], ok) }
        var bad = ok
        bad.batchSize = 0
        #expect(throws: TrainingError.invalidOption(name: "batchSize", value: "0", allowed: "an integer ≥ 1")) { try fit(sequences, bad) }
        bad = ok
        bad.learningRate = .nan
        #expect(throws: TrainingError.self) { try fit(sequences, bad) }
        bad = ok
        bad.replaceDeadEvery = -1
        #expect(throws: TrainingError.self) { try fit(sequences, bad) }
        // A token id the model does not have is the model's typed error, not a crash.
        #expect(throws: (any Error).self) { try fit([[1, 2, 99]], ok) }
        #expect(codebooks.model.namedParameters.allSatisfy { $0.parameter.isTrainable == $0.key.hasPrefix("insertions.") })
    }
}
