import Foundation
import Testing
@testable import Intervene
import Models
import Tensors

/// Clean source passes of causal models run only the positions their getters read; the result
/// must be what a whole source pass gives.
@Suite struct SourcePrefixTests {
    /// Random set-ups on a tiny GPT-2 and a tiny grouped-query Llama: the intervened logits with
    /// prefix source passes equal those patched from source blocks collected on the whole source
    /// sequence.
    @Test func prefixSourcePassesGiveWholeSequenceResults() throws {
        let (batch, length) = (InterventionPropertyTests.batch, InterventionPropertyTests.length)
        var prefixed = 0
        for (name, model, vocabulary) in try InterventionPropertyTests.models() {
            var generator = InterventionCaseGenerator(model: model, batch: batch, length: length, seed: 505)
            for trial in 0..<80 {
                let c = generator.next(types: [.vanilla, .addition, .rotatedSpace], maxInterventions: 2, modes: [.parallel])
                let base = generator.tokens(vocabulary: vocabulary), source = generator.tokens(vocabulary: vocabulary)
                let sourceLocations = c.locations.map { row in
                    row.map { u in UnitLocation(positions: generator.distinct(u.positions!.count, below: length), heads: u.heads) }
                }
                let im = try IntervenableModel(config: c.config, model: model)
                let direct = try im.forward(base: .tokens(base), sources: [.tokens(source)],
                                            unitLocations: c.unitLocations(source: sourceLocations), subspaces: c.subspaces)
                // The source blocks of a whole pass over the source, collected at the source locations.
                var collecting = c
                collecting.representations = c.representations.map { var r = $0; r.interventionType = .collect; return r }
                collecting.locations = sourceLocations
                let collected = try IntervenableModel(config: collecting.config, model: model)
                    .forward(base: .tokens(source), unitLocations: collecting.unitLocations())
                var blocks: [Int: Tensor] = [:]
                for i in c.representations.indices { blocks[i] = try collected.collected(i) }
                let patched = try im.forward(base: .tokens(base), unitLocations: c.unitLocations(source: sourceLocations),
                                             subspaces: c.subspaces, sourceActivations: blocks)
                let difference = maxDifference(direct.intervened.logits, patched.intervened.logits)
                #expect(difference <= 1e-6, "\(name) trial \(trial): \(difference) — \(c)")
                let pass = try im.preparePass(base: .tokens(base), sources: [.tokens(source)],
                                              unitLocations: c.unitLocations(source: sourceLocations), subspaces: c.subspaces)
                if im.sourcePrefixLength(members: Array(c.representations.indices), pass: pass, sequenceLength: length) != nil { prefixed += 1 }
            }
        }
        #expect(prefixed > 25, "only \(prefixed) of 160 set-ups ran a prefix source pass (the rest read the last position)")
    }

    /// The prefix length: the last read position + 1 at position and head-position sites; the
    /// whole sequence for attention weights (their key axis shrinks with the sequence), whole
    /// units, positions outside the sequence and non-causal models.
    @Test func prefixLengthFollowsTheGettersPositions() throws {
        let model = tinyGPT2(seed: 5)
        let base = ModelInput.tokens(IndexTensor(shape: [2, 8], values: Array(0..<16)))
        func length(_ component: Component, _ unit: RepresentationUnit, _ locations: [UnitLocation]?) throws -> Int? {
            let config = IntervenableConfig(representations: [RepresentationConfig(layer: 1, component: component, unit: unit,
                                                                                    interventionType: .vanilla)])
            let im = try IntervenableModel(config: config, model: model)
            let pass = try im.preparePass(base: base, sources: [base], unitLocations: locations.map { UnitLocations([InterventionLocations(source: $0, base: $0)]) },
                                          subspaces: nil)
            return im.sourcePrefixLength(members: [0], pass: pass, sequenceLength: 8)
        }
        #expect(try length(.blockOutput, .position, [.positions([2]), .positions([0, 4])]) == 5)
        #expect(try length(.headAttentionValueOutput, .headPosition, [.heads([1], positions: [3]), .heads([0], positions: [1])]) == 4)
        #expect(try length(.blockOutput, .position, [.positions([7]), .positions([1])]) == nil, "the last position: the whole sequence")
        #expect(try length(.attentionWeight, .headPosition, [.heads([1], positions: [3]), .heads([0], positions: [1])]) == nil)
        #expect(try length(.blockOutput, .position, nil) == nil, "whole units")
    }

    /// `ModelInput.prefix` keeps the first positions of every example.
    @Test func inputPrefixKeepsLeadingPositions() {
        let ids = ModelInput.tokens(IndexTensor(shape: [2, 4], values: [1, 2, 3, 4, 5, 6, 7, 8]))
        guard case .tokens(let cut) = ids.prefix(2) else { Issue.record("not tokens"); return }
        #expect(cut == IndexTensor(shape: [2, 2], values: [1, 2, 5, 6]))
        let embeddings = ModelInput.embeddings(Tensor(shape: [1, 3, 2], values: [1, 2, 3, 4, 5, 6]))
        guard case .embeddings(let x) = embeddings.prefix(2) else { Issue.record("not embeddings"); return }
        #expect(x.shape == [1, 2, 2] && x.scalars == [1, 2, 3, 4])
    }
}
