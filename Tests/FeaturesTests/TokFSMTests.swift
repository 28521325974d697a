import Foundation
import Testing
import Features
import Models
import Tensors

/// TokFSM: edges, sequences, decoding and the transition accuracy of known guessers.
@Suite struct TokFSMTests {
    let fsm = try! TokFSM(states: 100, edges: 10, base: 10, seed: 42)

    @Test func everyStateHasExactlyEDistinctSuccessors() {
        #expect(fsm.digits == 2 && fsm.vocabularySize == 11 && fsm.bosToken == 10)
        for s in 0..<fsm.stateCount {
            #expect(fsm.successors[s].count == 10)
            #expect(Set(fsm.successors[s]).count == 10)
            #expect(fsm.successors[s].allSatisfy { $0 >= 0 && $0 < 100 })
        }
    }

    @Test func theSeedFixesTheMachineAndTheBatches() throws {
        #expect(try TokFSM(states: 100, edges: 10, base: 10, seed: 42) == fsm)
        #expect(try TokFSM(states: 100, edges: 10, base: 10, seed: 43).successors != fsm.successors)
        #expect(fsm.batch(count: 4, states: 8, seed: 1) == fsm.batch(count: 4, states: 8, seed: 1))
        #expect(fsm.batch(count: 4, states: 8, seed: 1) != fsm.batch(count: 4, states: 8, seed: 2))
    }

    @Test func everyGeneratedSequenceIsValid() {
        let batch = fsm.batch(count: 200, states: 20, seed: 7)
        for row in batch {
            #expect(row.count == 1 + 20 * 2 && row[0] == fsm.bosToken)
            #expect(row.dropFirst().allSatisfy { $0 >= 0 && $0 < 10 })
            let states = fsm.states(from: row)
            #expect(states.count == 20)
            #expect(zip(states, states.dropFirst()).allSatisfy { fsm.isTransition(from: $0, to: $1) })
        }
        #expect(fsm.transitionAccuracy(tokenSequences: batch) == TransitionAccuracy(overall: 1, first: 1, transitions: 200 * 19))
    }

    @Test func statesAreWrittenInBaseB() throws {
        #expect(fsm.tokens(of: 7) == [0, 7] && fsm.tokens(of: 93) == [9, 3])
        let binary = try TokFSM(states: 5, edges: 2, base: 2, seed: 0)
        #expect(binary.digits == 3 && binary.tokens(of: 5 - 1) == [1, 0, 0])
        // A number ≥ N, a BOS inside a state, and a trailing partial state.
        #expect(binary.states(from: [2, 1, 1, 1, 0, 1, 1, 0, 2, 1, 0]) == [-1, 3, -1])
        let single = try TokFSM(states: 1, edges: 1, base: 3, seed: 0)
        #expect(single.digits == 1 && single.successors == [[0]])
    }

    @Test func anOracleScoresOneAndARandomGuesserScoresEOverN() {
        var g = RandomGenerator(seed: 3)
        var oracle: [[Int]] = [], random: [[Int]] = []
        for _ in 0..<400 {
            var o = [g.nextInt(below: 100)], r = [g.nextInt(below: 100)]
            for _ in 0..<25 {
                o.append(fsm.successors[o.last!][g.nextInt(below: 10)])
                r.append(g.nextInt(below: 100))
            }
            oracle.append(o)
            random.append(r)
        }
        #expect(fsm.transitionAccuracy(oracle).overall == 1)
        let chance = fsm.transitionAccuracy(random)
        #expect(chance.transitions == 400 * 25)
        #expect(abs(chance.overall - 0.1) < 0.015)
        #expect(fsm.transitionAccuracy([[3]]) == TransitionAccuracy(overall: 0, first: 0, transitions: 0))
        #expect(!fsm.isTransition(from: -1, to: 0) && !fsm.isTransition(from: 100, to: 0))
    }

    @Test func badSettingsAreTypedErrors() {
        #expect(throws: TokFSMError.invalid(field: "edges", value: "11", allowed: "1...10 (at most the number of states)")) {
            try TokFSM(states: 10, edges: 11, seed: 0)
        }
        #expect(throws: TokFSMError.self) { try TokFSM(states: 0, edges: 1, seed: 0) }
        #expect(throws: TokFSMError.self) { try TokFSM(states: 4, edges: 1, base: 1, seed: 0) }
    }
}

/// Training on TokFSM with and without codebooks: the loss falls, metrics are reported.
@Suite struct TokFSMTrainingTests {
    @Test func aTinyModelLearnsAndItsCodebooksReportMetrics() throws {
        let fsm = try TokFSM(states: 8, edges: 2, base: 10, seed: 1)
        let model = try CodebookTraining.gptNeoX(for: fsm, width: 16, layers: 1, heads: 2, contextLength: 32, seed: 0)
        let codebooks = try CodebookModel(model: model, specs: [CodebookSpec(placement: .mlp, codeCount: 16)], seed: 0)
        let options = TokFSMTrainingOptions(steps: 30, batchSize: 8, statesPerSequence: 6, learningRate: 1e-2)
        let report = try CodebookTraining.fit(model, codebooks: codebooks, on: fsm, options: options)
        #expect(report.tokens == 30 * 8 * 6 && report.tokensPerSecond > 0)
        #expect(report.recentLoss < log(11) && report.finalAuxiliaryLoss > 0)
        let metrics = try CodebookTraining.metrics(codebooks, sequences: fsm.batch(count: 8, states: 6, seed: 99))
        #expect(metrics.map(\.name) == ["L0.mlp"])
        #expect(metrics[0].activeCodes >= 1 && metrics[0].activeCodes <= 16)
        #expect(abs(metrics[0].deadFraction - (1 - Double(metrics[0].activeCodes) / 16)) < 1e-12)
        #expect(metrics[0].reconstructionMSE.isFinite && metrics[0].reconstructionMSE >= 0)
        let accuracy = try CodebookTraining.sampledAccuracy(model, fsm: fsm, count: 4, states: 5, seed: 0)
        #expect(accuracy.transitions == 4 * 4)
        #expect(throws: TokFSMError.self) {
            try CodebookTraining.fit(model, on: fsm, options: TokFSMTrainingOptions(steps: 1, batchSize: 0))
        }
    }
}
