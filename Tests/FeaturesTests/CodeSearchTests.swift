import Foundation
import Testing
import Features
import Tensors

/// A hand-made code table: two documents, a k = 1 codebook "cb" and a k = 2 codebook "cb2",
/// and a neuron table, with precision and recall worked out by hand.
func handMadeCodes() throws -> CollectedCodes {
    let docs = [TokenDocument(ids: [10, 11, 12, 13, 10, 14], pieces: ["the", " cat", " sat", " on", " the", " mat"]),
                TokenDocument(ids: [15, 11, 16], pieces: ["a", " cat", " ran"])]
    let cb = CollectedCodebook(name: "cb", codeCount: 4, k: 1, ids: [[0, 1, 2, 3, 0, 1], [3, 1, 2]])
    let cb2 = CollectedCodebook(name: "cb2", codeCount: 3, k: 2, ids: [[0, 1, 2, 2, 1, 0, 0, -1, 1, 2, 2, 0], [1, 0, 2, 1, -1, -1]],
                                vectors: Tensor(shape: [3, 2], values: [1, 0, 0, 1, 1, 1]))
    // Rows 0…5 are document 0's tokens, 6…8 document 1's.
    let neurons = Tensor(shape: [9, 2], values: [0, 9, 5, 1, 4, 1, 4, 9, 0, 9, 3, 1, 0, 9, 5, 1, 1, 9])
    return try CollectedCodes(documents: docs, codebooks: [cb, cb2], neurons: ["n": neurons])
}

@Suite struct CodeSearchTests {
    @Test func activationCountsCountEachTokenOnce() throws {
        let data = try handMadeCodes()
        #expect(try data.activationCounts(codebook: "cb") == [2, 3, 2, 2])
        // Document 0 token 1 holds code 2 in both slots: one activation; −1 slots are skipped.
        #expect(try data.activationCounts(codebook: "cb2") == [5, 5, 4])
        #expect(data.tokenCount == 9)
    }

    @Test func matchingTokensUseTheGroupStart() throws {
        let data = try handMadeCodes()
        #expect(try CodeSearch.matchingTokens("at", in: data.documents) ==
                [TokenPosition(document: 0, position: 1), TokenPosition(document: 0, position: 2),
                 TokenPosition(document: 0, position: 5), TokenPosition(document: 1, position: 1)])
        // "the (cat)" starts in "the" but its group starts in " cat".
        #expect(try CodeSearch.matchingTokens("the (cat)", in: data.documents) == [TokenPosition(document: 0, position: 1)])
        #expect(try CodeSearch.matchingTokens("x*", in: data.documents).isEmpty)  // empty matches pick nothing
    }

    @Test func precisionAndRecallByHand() throws {
        let data = try handMadeCodes()
        let cat = try CodeSearch.search(data, pattern: "cat", options: CodeSearchOptions(codebooks: ["cb"]))
        #expect(cat.matchedTokens == 2)
        #expect(cat.matches == [CodeMatch(codebook: "cb", code: 1, precision: 2.0 / 3, recall: 1, activations: 3, matchedActivations: 2)])
        let at = try CodeSearch.search(data, pattern: "at")
        #expect(at.matchedTokens == 4)
        #expect(at.matches == [
            CodeMatch(codebook: "cb", code: 1, precision: 1, recall: 0.75, activations: 3, matchedActivations: 3),
            CodeMatch(codebook: "cb2", code: 2, precision: 0.75, recall: 0.75, activations: 4, matchedActivations: 3),
            CodeMatch(codebook: "cb", code: 2, precision: 0.5, recall: 0.25, activations: 2, matchedActivations: 1),
            CodeMatch(codebook: "cb2", code: 0, precision: 0.4, recall: 0.5, activations: 5, matchedActivations: 2),
            CodeMatch(codebook: "cb2", code: 1, precision: 0.4, recall: 0.5, activations: 5, matchedActivations: 2),
        ])
    }

    @Test func thresholdsSortingAndLimit() throws {
        let data = try handMadeCodes()
        let strict = try CodeSearch.search(data, pattern: "at", options: CodeSearchOptions(minPrecision: 0.75))
        #expect(strict.matches.map { "\($0.codebook)/\($0.code)" } == ["cb/1", "cb2/2"])
        let byRecall = try CodeSearch.search(data, pattern: "at", options: CodeSearchOptions(minRecall: 0.5, sort: .recall, limit: 3))
        #expect(byRecall.matches.map { "\($0.codebook)/\($0.code)" } == ["cb/1", "cb2/2", "cb2/0"])
        let byCount = try CodeSearch.search(data, pattern: "at", options: CodeSearchOptions(sort: .count, limit: 2))
        #expect(byCount.matches.map { "\($0.codebook)/\($0.code)" } == ["cb/1", "cb2/2"])
    }

    @Test func bestNeuronAtMatchedRecall() throws {
        let data = try handMadeCodes()
        let matched = try CodeSearch.matchingTokens("at", in: data.documents)
        // Recall 1: neuron 0's threshold is 3; tokens ≥ 3 are rows 1, 2, 3, 5, 7, four of them matching.
        #expect(try CodeSearch.bestNeuron(data, matched: matched, recall: 1) ==
                NeuronBaseline(table: "n", neuron: 0, threshold: 3, precision: 0.8, recall: 1))
        // Recall 0.5: threshold 5 picks rows 1 and 7, both matching.
        #expect(try CodeSearch.bestNeuron(data, matched: matched, recall: 0.5) ==
                NeuronBaseline(table: "n", neuron: 0, threshold: 5, precision: 1, recall: 0.5))
        #expect(try CodeSearch.bestNeuron(data, matched: matched, recall: 0.1) == nil)  // ⌊0.4⌋ = 0 tokens
    }

    @Test func topContextsBestSlotFirst() throws {
        let data = try handMadeCodes()
        let contexts = try data.topContexts(codebook: "cb2", code: 0, limit: 3, window: 1)
        #expect(contexts.map(\.token) == [TokenPosition(document: 0, position: 0), TokenPosition(document: 0, position: 3),
                                          TokenPosition(document: 0, position: 2)])
        #expect(contexts[1] == CodeContext(token: TokenPosition(document: 0, position: 3), slot: 0, before: " sat", piece: " on", after: " the"))
        #expect(contexts[0].before == "" && contexts[0].after == " cat")
    }

    @Test func similarCodesByCosine() throws {
        let data = try handMadeCodes()
        let similar = try data.similarCodes(codebook: "cb2", code: 0)
        #expect(similar.map(\.code) == [2, 1])
        #expect(abs(similar[0].cosine - 1 / Float(2).squareRoot()) < 1e-6 && similar[1].cosine == 0)
    }

    @Test func typedErrors() throws {
        let data = try handMadeCodes()
        #expect(throws: CodeAnalysisError.self) { try CodeSearch.search(data, pattern: "(cat") }
        do {
            _ = try CodeSearch.matchingTokens("[a-", in: data.documents)
            Issue.record("an invalid regex was accepted")
        } catch let CodeAnalysisError.invalidRegex(pattern, reason) {
            #expect(pattern == "[a-" && reason == "expected ']'")
        }
        #expect(throws: CodeAnalysisError.codeOutOfRange(codebook: "cb", code: 4, codes: 4)) { try data.activations(codebook: "cb", code: 4) }
        #expect(throws: CodeAnalysisError.codeOutOfRange(codebook: "cb2", code: -1, codes: 3)) { try data.topContexts(codebook: "cb2", code: -1) }
        #expect(throws: CodeAnalysisError.unknownCodebook(name: "L9.mlp", available: ["cb", "cb2"])) { try data.activationCounts(codebook: "L9.mlp") }
        #expect(throws: CodeAnalysisError.invalidOption(field: "minPrecision", value: "1.5", allowed: "a number in 0...1")) {
            try CodeSearch.search(data, pattern: "at", options: CodeSearchOptions(minPrecision: 1.5))
        }
        #expect(throws: CodeAnalysisError.self) {
            try CollectedCodes(documents: data.documents, codebooks: [CollectedCodebook(name: "x", codeCount: 2, k: 1, ids: [[0], [5, 0, 0]])])
        }
        #expect(CodeAnalysisError.codeOutOfRange(codebook: "cb", code: 4, codes: 4).description == "codebook 'cb': code 4 is out of range; allowed: 0..<4")
    }
}
