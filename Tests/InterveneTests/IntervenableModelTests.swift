import Foundation
import Testing
@testable import Intervene
import Models
import Tensors

@Suite struct IntervenableModelTests {
    func vanilla(_ layer: Int = 1, _ component: Component = .blockOutput, unit: RepresentationUnit = .position, units: Int = 1) -> IntervenableConfig {
        IntervenableConfig(RepresentationConfig(layer: layer, component: component, unit: unit, maxNumberOfUnits: units),
                           interventionType: .vanilla)
    }

    @Test func interchangeWithItselfChangesNothing() throws {
        let model = tinyGPT2()
        let im = try IntervenableModel(config: vanilla(), model: model)
        let out = try im.forward(base: .tokens(baseTokens), sources: [.tokens(baseTokens)], unitLocations: .position(3, batchSize: 2), outputOriginal: true)
        #expect(maxDifference(out.intervened.logits, try model(.tokens(baseTokens)).logits) == 0)
        #expect(out.original != nil)
        // And a real source changes the logits, from the intervened position on only.
        let swapped = try im.forward(base: .tokens(baseTokens), sources: [.tokens(sourceTokens)], unitLocations: .position(3, batchSize: 2))
        let plain = try model(.tokens(baseTokens)).logits
        #expect(maxDifference(swapped.intervened.logits.narrowed(1, start: 0, length: 3), plain.narrowed(1, start: 0, length: 3)) == 0)
        #expect(maxDifference(swapped.intervened.logits, plain) > 1e-3)
    }

    @Test func sourceLocationsDefaultToBaseLocations() throws {
        let im = try IntervenableModel(config: vanilla(), model: tinyGPT2())
        let explicit = try im.forward(base: .tokens(baseTokens), sources: [.tokens(sourceTokens)], unitLocations: .position(3, batchSize: 2)).intervened.logits
        let implied = try im.forward(base: .tokens(baseTokens), sources: [.tokens(sourceTokens)], unitLocations: .base([[3], [3]])).intervened.logits
        #expect(maxDifference(explicit, implied) == 0)
    }

    @Test func collectedActivationsPatchBackToIdenticalLogits() throws {
        let model = tinyGPT2()
        let collect = try IntervenableModel(config: IntervenableConfig(RepresentationConfig(layer: 0, component: .mlpOutput, maxNumberOfUnits: 6),
                                                                       interventionType: .collect), model: model)
        let all = Array(0..<6)
        let collected = try collect.forward(base: .tokens(baseTokens), unitLocations: .base([all, all])).collected(0)
        #expect(collected.shape == [2, 6, 16])
        let patch = try IntervenableModel(config: vanilla(0, .mlpOutput, units: 6), model: model)
        let out = try patch.forward(base: .tokens(baseTokens), unitLocations: .base([all, all]), sourceActivations: [0: collected])
        #expect(maxDifference(out.intervened.logits, try model(.tokens(baseTokens)).logits) == 0)
    }

    @Test func everyExampleKeepsItsOwnLocationsAndSubspaces() throws {
        let model = tinyGPT2()
        let im = try IntervenableModel(config: vanilla(), model: model)
        let batched = try im.forward(base: .tokens(baseTokens), sources: [.tokens(sourceTokens)],
                                     unitLocations: .positions(source: [[1], [4]], base: [[2], [5]]),
                                     subspaces: [[[0, 1, 2], [5, 6, 7]]]).intervened.logits
        for (b, (src, dst, sub)) in [(1, 2, [0, 1, 2]), (4, 5, [5, 6, 7])].enumerated() {
            let single = try im.forward(base: .tokens(ids([baseTokens.values.dropFirst(b * 6).prefix(6).map { $0 }])),
                                        sources: [.tokens(ids([sourceTokens.values.dropFirst(b * 6).prefix(6).map { $0 }]))],
                                        unitLocations: .positions(source: [[src]], base: [[dst]]), subspaces: [[sub]]).intervened.logits
            #expect(maxDifference(batched.narrowed(0, start: b, length: 1), single) < 1e-6)
        }
    }

    @Test func headPositionBlocksMoveOnlyTheirHeads() throws {
        let model = tinyGPT2()
        let config = IntervenableConfig(RepresentationConfig(layer: 0, component: .headAttentionValueOutput, unit: .headPosition),
                                        interventionType: .vanilla)
        let im = try IntervenableModel(config: config, model: model)
        let loc = UnitLocations([InterventionLocations(source: [.heads([1], positions: [2]), .heads([0], positions: [3])],
                                                       base: [.heads([1], positions: [2]), .heads([0], positions: [3])])])
        let collectSites = [Site(layer: 0, component: .headAttentionValueOutput)]
        let hooks = try model.runWithCache(.tokens(sourceTokens), sites: collectSites).cache[collectSites[0]]!
        let out = try im.forward(base: .tokens(baseTokens), sources: [.tokens(sourceTokens)], unitLocations: loc)
        #expect(out.intervened.logits.shape == [2, 6, 40])
        // The patched value equals the source's head 1, position 2 for example 0.
        let check = try IntervenableModel(config: IntervenableConfig(RepresentationConfig(layer: 0, component: .headAttentionValueOutput, unit: .headPosition),
                                                                     interventionType: .collect), model: model)
        let base = try check.forward(base: .tokens(sourceTokens), unitLocations: UnitLocations([InterventionLocations(source: nil, base: loc.interventions[0].base)])).collected(0)
        #expect(base.shape == [2, 1, 1, 8])
        #expect(maxDifference(base.narrowed(0, start: 0, length: 1).reshaped([8]), hooks.narrowed(0, start: 0, length: 1).narrowed(1, start: 1, length: 1).narrowed(2, start: 2, length: 1).reshaped([8])) == 0)
    }

    @Test func oneSourcePassPerDistinctSource() throws {
        let counting = CountingModel(tinyGPT2())
        let config = IntervenableConfig(representations: [RepresentationConfig(layer: 0, component: .mlpOutput), RepresentationConfig(layer: 1, component: .attentionOutput)],
                                        interventionTypes: .vanilla)
        let im = try IntervenableModel(config: config, model: counting)
        _ = try im.forward(base: .tokens(baseTokens), sources: [.tokens(sourceTokens)], unitLocations: .position(2, batchSize: 2, interventions: 2))
        #expect(counting.calls == 2)  // one source pass + the base pass
        counting.calls = 0
        _ = try im.forward(base: .tokens(baseTokens), sources: [.tokens(sourceTokens), .tokens(baseTokens)], unitLocations: .position(2, batchSize: 2, interventions: 2))
        #expect(counting.calls == 3)
        counting.calls = 0
        _ = try im.forward(base: .tokens(baseTokens), sources: [.tokens(sourceTokens)], unitLocations: .position(2, batchSize: 2, interventions: 2), outputOriginal: true)
        #expect(counting.calls == 3)
    }

    @Test func serialModeChainsSources() throws {
        let model = tinyGPT2()
        let third = ids([[3, 3, 3, 3, 3, 3], [4, 4, 4, 4, 4, 4]])
        let config = IntervenableConfig(representations: [RepresentationConfig(layer: 0, component: .blockOutput),
                                                          RepresentationConfig(layer: 1, component: .blockOutput)],
                                        interventionTypes: .vanilla, mode: .serial)
        let serial = try IntervenableModel(config: config, model: model)
        let out = try serial.forward(base: .tokens(baseTokens), sources: [.tokens(sourceTokens), .tokens(third)],
                                     unitLocations: .position(2, batchSize: 2, interventions: 2)).intervened.logits
        // By hand: patch source → third at layer 0, read third's layer-1 output, patch into base.
        let first = try IntervenableModel(config: IntervenableConfig(representations: [RepresentationConfig(layer: 0, component: .blockOutput),
                                                                                       RepresentationConfig(layer: 1, component: .blockOutput, interventionType: .collect)],
                                                                     interventionTypes: .vanilla), model: model)
        let chained = try first.forward(base: .tokens(third), sources: [.tokens(sourceTokens)],
                                        unitLocations: UnitLocations([InterventionLocations(source: [.positions([2]), .positions([2])], base: [.positions([2]), .positions([2])]),
                                                                      InterventionLocations(source: nil, base: [.positions([2]), .positions([2])])])).collected(1)
        let last = try IntervenableModel(config: vanilla(1), model: model)
        let expected = try last.forward(base: .tokens(baseTokens), unitLocations: .base([[2], [2]]), sourceActivations: [0: chained]).intervened.logits
        #expect(maxDifference(out, expected) < 1e-6)
    }

    @Test func groupsShareSourcesAndLinksShareWeights() throws {
        let model = tinyGPT2()
        let config = IntervenableConfig(representations: [
            RepresentationConfig(layer: 0, component: .blockOutput, groupKey: 0, interventionLinkKey: 7, interventionType: .rotatedSpace),
            RepresentationConfig(layer: 1, component: .blockOutput, groupKey: 0, interventionLinkKey: 7, interventionType: .rotatedSpace),
            RepresentationConfig(layer: 1, component: .mlpOutput, groupKey: 1, interventionType: .vanilla),
        ])
        let im = try IntervenableModel(config: config, model: model)
        #expect(im.groups == [[0, 1], [2]])
        #expect(im.interventions[0] === im.interventions[1])
        #expect(im.trainableParameters.count == 1)
        let bad = IntervenableConfig(representations: [RepresentationConfig(layer: 0, component: .blockOutput, groupKey: 1),
                                                       RepresentationConfig(layer: 0, component: .mlpOutput, groupKey: 0)],
                                     interventionTypes: .vanilla)
        #expect(IntervenableModel.groups(of: bad) == [[1], [0]])
    }

    @Test func skipReplacesAnOutputWithItsInput() throws {
        let model = tinyGPT2()
        let im = try IntervenableModel(config: IntervenableConfig(RepresentationConfig(layer: 1, component: .blockOutput, maxNumberOfUnits: 6),
                                                                  interventionType: .skip), model: model)
        let all = Array(0..<6)
        let skipped = try im.forward(base: .tokens(baseTokens), unitLocations: .base([all, all])).intervened.logits
        let hooks = HookRegistry()
        var input = Tensor.zeros([1])
        hooks.add(layer: 1, tap: .blockInput) { a, _ in input = a }
        hooks.add(layer: 1, tap: .blockOutput) { a, _ in a = input }
        #expect(maxDifference(skipped, try model.forward(.tokens(baseTokens), options: ForwardOptions(hooks: hooks)).logits) == 0)
        #expect(throws: ConfigurationError.self) {
            try IntervenableModel(config: IntervenableConfig(RepresentationConfig(layer: 0, component: .mlpActivation), interventionType: .skip), model: model)
        }
    }

    @Test func staticInterventionsComputeTheirFormulas() throws {
        let base = Tensor.randomNormal([2, 1, 4], seed: 1), source = Tensor.randomNormal([2, 1, 4], seed: 2)
        let sub: [[Int]] = [[0, 2], [1]]
        let mask = Tensor(shape: [2, 1, 4], values: [1, 0, 1, 0, 0, 1, 0, 0])
        #expect(maxDifference(try VanillaIntervention().apply(base: base, source: source, subspaces: sub).output, base * (1 - mask) + source * mask) == 0)
        #expect(maxDifference(try AdditionIntervention().apply(base: base, source: source, subspaces: sub).output, base + source * mask) == 0)
        #expect(maxDifference(try SubtractionIntervention().apply(base: base, source: source, subspaces: nil).output, base - source) == 0)
        #expect(maxDifference(try ZeroIntervention(interchangeDimension: 2).apply(base: base, source: nil, subspaces: nil).output,
                              base * Tensor([0, 0, 1, 1])) == 0)
        let noise = NoiseIntervention(noiseLevel: 0.5, seed: 3)
        let noisy = try noise.apply(base: base, source: nil, subspaces: nil).output
        #expect(maxDifference(noisy, try noise.apply(base: base, source: nil, subspaces: nil).output) == 0)
        #expect(maxDifference(noisy, try NoiseIntervention(noiseLevel: 0.5, seed: 4).apply(base: base, source: nil, subspaces: nil).output) > 0)
        let constant = ConstantSourceIntervention(vector: Tensor([1, 2, 3, 4]))
        #expect(try constant.apply(base: base, source: nil, subspaces: nil).output.scalars == Array(repeating: [Float(1), 2, 3, 4], count: 2).flatMap { $0 })
        let closure = ClosureIntervention { b, s, _ in b * 2 + s! }
        #expect(maxDifference(try closure.apply(base: base, source: source, subspaces: nil).output, base * 2 + source) == 0)
        #expect(throws: InterventionError.self) { try VanillaIntervention().apply(base: base, source: source, subspaces: [[9], [0]]).output }
    }
}
