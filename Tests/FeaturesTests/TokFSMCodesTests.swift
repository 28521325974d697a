import Foundation
import Testing
import Features
import Models
import Tensors

/// State codes on TokFSM: aligned state patterns, precision/recall per state, code forcing
/// during generation.
@Suite struct TokFSMCodesTests {
    let fsm = try! TokFSM(states: 100, edges: 10, base: 10, seed: 42)

    @Test func documentsMarkStateBoundariesSoPatternsMatchOnlyAlignedStates() throws {
        // BOS, then states 60, 62, 06.
        let ids = [10, 6, 0, 6, 2, 0, 6]
        let docs = TokFSMCodes.documents([ids], fsm: fsm)
        #expect(docs[0].pieces == ["<s>", " 6", "0", " 6", "2", " 0", "6"])
        #expect(docs[0].text == "<s> 60 62 06")
        #expect(TokFSMCodes.pattern(for: 62, fsm: fsm) == " 6(2)")
        #expect(try CodeSearch.matchingTokens(TokFSMCodes.pattern(for: 62, fsm: fsm), in: docs) == [TokenPosition(document: 0, position: 4)])
        // "0 6" straddles the boundary between 60 and 62: not state 06.
        #expect(try CodeSearch.matchingTokens(TokFSMCodes.pattern(for: 6, fsm: fsm), in: docs) == [TokenPosition(document: 0, position: 6)])
        let single = try TokFSM(states: 5, edges: 2, base: 10, seed: 0)
        #expect(TokFSMCodes.pattern(for: 3, fsm: single) == " (3)")
    }

    @Test func stateCodesGivePrecisionRecallAndTheNeuronBaseline() throws {
        // Two documents: states 62 06 62 and 06 62 06. Code 5 of "A" fires on the last digit of
        // every 62 and once elsewhere; code 7 of "B" on the last digit of every 06.
        let rows = [[10, 6, 2, 0, 6, 6, 2], [10, 0, 6, 6, 2, 0, 6]]
        let docs = TokFSMCodes.documents(rows, fsm: fsm)
        let a = [[0, 1, 5, 1, 1, 1, 5], [0, 1, 5, 1, 5, 1, 1]]
        let b = [[0, 1, 1, 1, 7, 1, 1], [0, 1, 7, 1, 1, 1, 7]]
        // One neuron column that is 1 exactly on the last digits of 62.
        let neuron = rows.flatMap { row in row.indices.map { t in Float(t > 1 && row[t] == 2 && row[t - 1] == 6 && t % 2 == 0 ? 1 : 0) } }
        let data = try CollectedCodes(documents: docs, codebooks: [
            CollectedCodebook(name: "A", codeCount: 8, k: 1, ids: a), CollectedCodebook(name: "B", codeCount: 8, k: 1, ids: b),
        ], neurons: ["L0.mlp": Tensor(shape: [14, 1], values: neuron)])
        let codes = try TokFSMCodes.stateCodes(data, fsm: fsm, minRecall: 0.5)
        let s62 = try #require(codes.first { $0.state == 62 })
        #expect(s62.codebook == "A" && s62.code == 5 && s62.recall == 1 && abs(s62.precision - 3.0 / 4.0) < 1e-12)
        #expect(s62.neuron?.precision == 1 && s62.neuron?.recall == 1)
        let s6 = try #require(codes.first { $0.state == 6 })
        #expect(s6.codebook == "B" && s6.code == 7 && s6.precision == 1 && s6.recall == 1)
        #expect(codes.count == 2)
        // Per codebook: each state also gets codebook A's and B's best code.
        let each = try TokFSMCodes.stateCodes(data, fsm: fsm, minRecall: 0.5, perCodebook: true)
        #expect(Set(each.map { "\($0.state)/\($0.codebook)" }) == ["62/A", "62/B", "6/A", "6/B"])
        #expect(throws: CodeAnalysisError.self) { try TokFSMCodes.stateCodes(data, fsm: fsm, minRecall: 1.5) }
    }

    /// A tiny TokFSM codebook model (untrained weights are enough for the mechanics).
    func tinyModel() throws -> (TokFSM, CodebookModel) {
        let small = try TokFSM(states: 8, edges: 2, base: 10, seed: 1)
        let model = try CodebookTraining.gptNeoX(for: small, width: 16, layers: 2, heads: 2, contextLength: 32, seed: 0)
        let codebooks = try CodebookModel(model: model, specs: [CodebookSpec(placement: .mlp, codeCount: 16)], seed: 0)
        return (small, codebooks)
    }

    /// Each codebook's codes at the last digit of every state read alone group the states: one
    /// group per code, every state in exactly one group (k = 1), the code a direct pass picks.
    @Test func firstStatePartitionGroupsStatesByTheirLastDigitCode() throws {
        let (small, codebooks) = try tinyModel()
        let partitions = try TokFSMCodes.firstStatePartitions(codebooks, fsm: small)
        #expect(partitions.map(\.codebook) == codebooks.codebooks.map(\.name))
        for partition in partitions {
            #expect(partition.groups.values.flatMap { $0 }.sorted() == Array(0..<small.stateCount))
        }
        let state = 5, input = [small.bosToken] + small.tokens(of: state)
        let direct = try TokFSMCodes.collect(codebooks, fsm: small, sequences: [input], neurons: false)
        let code = direct.codebooks[0].ids[0][small.digits]
        #expect(partitions[0].groups[code]?.contains(state) == true)
        let handMade = StatePartition(codebook: "L0.mlp", groups: [3: [1], 4: [2, 7], 9: [0]])
        #expect(handMade.isolatedStates == [0, 1])
    }

    @Test func forcedCodesInGenerationEqualPatchedForwardPasses() throws {
        let (small, codebooks) = try tinyModel()
        let prompt = small.sequence(of: [1, small.successors[1][0], 3])
        let ids = IndexTensor(shape: [1, prompt.count], values: prompt)
        let layer = try #require(codebooks.codebook(named: "L1.mlp"))
        let edit = CodeEdit(patches: [CodePatch(positions: [-1], slot: nil, code: 9)])
        let config = GenerationConfig(maxNewTokens: 1, strategy: .greedy)
        let forced = try codebooks.generate(prompt: ids, edits: ["L1.mlp": edit], config: config)
        // The same pass by hand: patch, forward, argmax of the last position.
        layer.patches = edit.patches
        let logits = try Tensor.withoutGradients { try codebooks.forward(ids) }.logits.scalars
        layer.patches = []
        let v = small.vocabularySize, last = Array(logits[((prompt.count - 1) * v)..<(prompt.count * v)])
        #expect(forced.sequences[0].last == last.indices.max { last[$0] < last[$1] })
        #expect(layer.patches.isEmpty && layer.callOptions == .plain)
        // Forced on generated tokens too: the last call (one token) snapped to code 9.
        let two = try codebooks.generate(prompt: ids, edits: ["L1.mlp": edit], timing: .promptAndGeneratedTokens,
                                         config: GenerationConfig(maxNewTokens: 2, strategy: .greedy))
        #expect(two.sequences[0].count == prompt.count + 2)
        #expect(layer.lastSnap?.codes?.values == [9])
    }

    @Test func badEditsAreTypedErrorsBeforeAnyPass() throws {
        let (_, codebooks) = try tinyModel()
        let ids = IndexTensor(shape: [1, 3], values: [10, 1, 2])
        let config = GenerationConfig(maxNewTokens: 1, strategy: .greedy)
        #expect(throws: CodebookError.unknownCodebook(name: "L7.mlp", available: ["L0.mlp", "L1.mlp"])) {
            try codebooks.generate(prompt: ids, edits: ["L7.mlp": CodeEdit()], config: config)
        }
        #expect(throws: CodebookError.codeOutOfRange(codebook: "L0.mlp", code: 16, codes: 16)) {
            try codebooks.generate(prompt: ids, edits: ["L0.mlp": CodeEdit(patches: [CodePatch(code: 16)])], config: config)
        }
        #expect(throws: CodebookError.disabledCodeOutOfRange(codebook: "L0.mlp", code: -2, codes: 16)) {
            try codebooks.generate(prompt: ids, edits: ["L0.mlp": CodeEdit(options: CodebookCallOptions(disabledCodes: [-2]))], config: config)
        }
    }

    @Test func forcingReportsSharesAndRejectsBadSettings() throws {
        let (small, codebooks) = try tinyModel()
        let codes = [StateCode(state: 2, codebook: "L1.mlp", code: 3, precision: 1, recall: 1, neuron: nil),
                     StateCode(state: 5, codebook: "L0.mlp", code: 4, precision: 1, recall: 1, neuron: nil)]
        let report = try TokFSMCodes.forcing(codebooks, fsm: small, codes: codes, trials: 6, promptStates: 3, seed: 1)
        #expect(report.trials == 6)
        for share in [report.followedTarget, report.followedPrompt, report.unforcedFollowedTarget] {
            #expect(share >= 0 && share <= 1 && (share * 6).rounded() == share * 6)
        }
        #expect(try TokFSMCodes.forcing(codebooks, fsm: small, codes: codes, trials: 6, promptStates: 3, seed: 1) == report)
        #expect(throws: CodeAnalysisError.self) { try TokFSMCodes.forcing(codebooks, fsm: small, codes: codes, trials: 0) }
        #expect(throws: CodeAnalysisError.self) { try TokFSMCodes.forcing(codebooks, fsm: small, codes: [codes[0]], trials: 2) }
    }
}
