import Foundation
import Testing
import CausalAbstraction
import Intervene
import Models
import Tensors

/// Steering vectors (activation addition) on a random GPT-2 with the real GPT-2 tokenizer.
@Suite struct SteeringVectorTests {
    struct Setup {
        let model: any CausalLanguageModel
        let tokenizer: any Tokenizer
    }

    func setup() throws -> Setup {
        let tokenizer = try TokenizerLoader.load(path: PromptInterventionTests.tokenizerPath)
        let model = try GPT2Family.model(GPT2Family.config(vocabularySize: tokenizer.vocabularySize, positions: 48, width: 16, layers: 2, heads: 2))
        model.initializeRandomly(seed: 7, std: 0.3)
        return Setup(model: model, tokenizer: tokenizer)
    }

    let site = Site(layer: 1, component: .blockOutput)

    /// The activation of `ids` at `site`, (S, d).
    func activation(_ s: Setup, _ ids: [Int]) throws -> Tensor {
        let a = try s.model.runWithCache(.tokens(IndexTensor(shape: [1, ids.count], values: ids)), sites: [site]).cache[site]!
        return a.reshaped([ids.count, a.shape[2]])
    }

    func maxDifference(_ a: Tensor, _ b: Tensor) -> Float { (a - b).abs().maxValue() }

    @Test func theVectorIsTheActivationDifference() throws {
        let s = try setup()
        // Aligned (the paper): the shorter prompt is right-padded with " " to the longer one's length.
        let pair = SteeringVector.Pair(positive: "I love talking about weddings", negative: "I hate")
        let aligned = try SteeringVector.compute(model: s.model, tokenizer: s.tokenizer, pairs: [pair], site: site)
        let positive = s.tokenizer.encode(pair.positive).ids, negative = s.tokenizer.encode(pair.negative).ids
        let space = s.tokenizer.encode(" ", addSpecialTokens: false).ids
        #expect(space.count == 1 && positive.count > negative.count)
        let padded = negative + Array(repeating: space[0], count: positive.count - negative.count)
        #expect(aligned.tokens[0].positive == positive && aligned.tokens[0].negative == padded)
        #expect(aligned.vector.shape == [positive.count, 16])
        #expect(maxDifference(aligned.vector, try activation(s, positive) - activation(s, padded)) == 0)

        // Last token and mean over positions, averaged over two pairs.
        let pairs = [pair, .init(positive: "Joy", negative: "Sorrow and grief")]
        let last = try SteeringVector.compute(model: s.model, tokenizer: s.tokenizer, pairs: pairs, site: site, reduction: .lastToken)
        let mean = try SteeringVector.compute(model: s.model, tokenizer: s.tokenizer, pairs: pairs, site: site, reduction: .meanOverPositions)
        var expectedLast = Tensor.zeros([1, 16]), expectedMean = Tensor.zeros([1, 16])
        for p in pairs {
            let a = try activation(s, s.tokenizer.encode(p.positive).ids), b = try activation(s, s.tokenizer.encode(p.negative).ids)
            expectedLast = expectedLast + (a.narrowed(0, start: a.shape[0] - 1, length: 1) - b.narrowed(0, start: b.shape[0] - 1, length: 1)) * 0.5
            expectedMean = expectedMean + (a.mean(axis: 0, keepDims: true) - b.mean(axis: 0, keepDims: true)) * 0.5
        }
        #expect(last.vector.shape == [1, 16] && mean.vector.shape == [1, 16])
        #expect(maxDifference(last.vector, expectedLast) < 1e-6 && maxDifference(mean.vector, expectedMean) < 1e-6)
        #expect(last.norm > 0)
        // Aligned over two pairs pads all four prompts to the longest of them.
        let both = try SteeringVector.compute(model: s.model, tokenizer: s.tokenizer, pairs: pairs, site: site)
        let longest = ([pair.positive, pair.negative, "Joy", "Sorrow and grief"].map { s.tokenizer.encode($0).ids.count }).max()!
        #expect(both.vector.shape == [longest, 16] && both.tokens.allSatisfy { $0.positive.count == longest && $0.negative.count == longest })
    }

    @Test func theSteeredForwardEqualsAManualAddition() throws {
        let s = try setup()
        let vector = try SteeringVector.compute(model: s.model, tokenizer: s.tokenizer,
                                                pairs: [.init(positive: "Love", negative: "Hate")], site: site)
        let n = vector.vector.shape[0]
        let prompt = s.tokenizer.encode("I think that you are").ids
        let input = ModelInput.tokens(IndexTensor(shape: [1, prompt.count], values: prompt))
        let steered = try vector.intervenable(model: s.model, coefficient: 5)
        let (locations, timing) = try SteeringVector.schedule(for: steered, promptLength: prompt.count)
        guard case .prompt = timing else { Issue.record("aligned vectors act on the prompt pass"); return }
        let out = try steered.forward(base: input, unitLocations: locations, outputOriginal: true)

        // The same addition by hand: a hook adding 5 · V at positions 0..<n of block 1's output.
        let delta = vector.vector * 5
        let hooks = HookRegistry()
        hooks.add(layer: 1, tap: .blockOutput) { activation, _ in
            let rest = Tensor.zeros([prompt.count - n, 16])
            activation = activation + Tensor.concatenate([delta, rest], axis: 0).reshaped([1, prompt.count, 16])
        }
        var options = ForwardOptions()
        options.hooks = hooks
        let manual = try s.model.forward(input, options: options)
        #expect(maxDifference(out.intervened.logits, manual.logits) < 1e-5)
        #expect(maxDifference(out.intervened.logits, out.original!.logits) > 1e-3)

        // One row at every position: the same as adding it everywhere.
        let last = try SteeringVector.compute(model: s.model, tokenizer: s.tokenizer, pairs: [.init(positive: "Love", negative: "Hate")],
                                              site: site, reduction: .lastToken)
        let everywhere = try last.intervenable(model: s.model, coefficient: -2, placement: .allPositions)
        let schedule = try SteeringVector.schedule(for: everywhere, promptLength: prompt.count)
        let all = try everywhere.forward(base: input, unitLocations: schedule.locations)
        let hooks2 = HookRegistry()
        hooks2.add(layer: 1, tap: .blockOutput) { activation, _ in activation = activation + (last.vector * -2).reshaped([1, 1, 16]) }
        options.hooks = hooks2
        #expect(maxDifference(all.intervened.logits, try s.model.forward(input, options: options).logits) < 1e-5)
    }

    @Test func coefficientZeroChangesNothing() throws {
        let s = try setup()
        let vector = try SteeringVector.compute(model: s.model, tokenizer: s.tokenizer,
                                                pairs: [.init(positive: "Love", negative: "Hate")], site: site, reduction: .lastToken)
        let prompt = s.tokenizer.encode("I think that you are").ids
        let config = GenerationConfig(maxNewTokens: 8)
        let input = ModelInput.tokens(IndexTensor(shape: [1, prompt.count], values: prompt))
        for placement in SteeringIntervention.Placement.allCases {
            let zeroModel = try vector.intervenable(model: s.model, coefficient: 0, placement: placement)
            let zero = try SteeringVector.generate(zeroModel, prompt: prompt, config: config, outputOriginal: true)
            #expect(zero.intervened.sequences == zero.original!.sequences)
            let locations = try SteeringVector.schedule(for: zeroModel, promptLength: prompt.count).locations
            let unchanged = try zeroModel.forward(base: input, unitLocations: locations, outputOriginal: true)
            #expect(unchanged.intervened.logits.scalars == unchanged.original!.logits.scalars)
            let strongModel = try vector.intervenable(model: s.model, coefficient: 40, placement: placement)
            let strong = try strongModel.forward(base: input, unitLocations: locations, outputOriginal: true)
            #expect(maxDifference(strong.intervened.logits, strong.original!.logits) > 1e-2)
        }
        // Steering every generated token changes the greedy continuation of this random model.
        let everywhere = try SteeringVector.generate(try vector.intervenable(model: s.model, coefficient: 40, placement: .allPositions),
                                                     prompt: prompt, config: config, outputOriginal: true)
        #expect(everywhere.intervened.sequences != everywhere.original!.sequences)
    }

    @Test func aBundleRoundTripGivesBitIdenticalGeneration() throws {
        let s = try setup()
        let folder = NSTemporaryDirectory() + "intervene-steer-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let prompt = s.tokenizer.encode("I think that you are").ids
        let config = GenerationConfig(maxNewTokens: 8)
        for (reduction, placement, coefficient) in [(SteeringVector.Reduction.aligned, SteeringIntervention.Placement.prompt, Float(3.7)),
                                                    (.meanOverPositions, .allPositions, Float(-1.3))] {
            let vector = try SteeringVector.compute(model: s.model, tokenizer: s.tokenizer,
                                                    pairs: [.init(positive: "Love", negative: "Hate"), .init(positive: "Kind words", negative: "Cruel")],
                                                    site: site, reduction: reduction)
            let steered = try vector.intervenable(model: s.model, coefficient: coefficient, placement: placement)
            try InterventionBundle.save(steered, to: folder, modelSource: "random gpt2",
                                        provenance: .init(command: "test", seed: 0, data: vector.provenanceData))
            let loaded = try InterventionBundle.load(from: folder, model: s.model)
            let intervention = try #require(loaded.interventions[0] as? SteeringIntervention)
            #expect(intervention.coefficient == coefficient && intervention.placement == placement)
            #expect(intervention.vector.scalars == vector.vector.scalars && intervention.vector.shape == vector.vector.shape)
            let before = try SteeringVector.generate(steered, prompt: prompt, config: config, outputOriginal: true)
            let after = try SteeringVector.generate(loaded, prompt: prompt, config: config)
            #expect(after.intervened.sequences == before.intervened.sequences)
            let input = ModelInput.tokens(IndexTensor(shape: [1, prompt.count], values: prompt))
            let locations = try SteeringVector.schedule(for: steered, promptLength: prompt.count).locations
            let original = try steered.forward(base: input, unitLocations: locations, outputOriginal: true)
            #expect(try original.intervened.logits.scalars == loaded.forward(base: input, unitLocations: locations).intervened.logits.scalars)
            #expect(maxDifference(original.intervened.logits, original.original!.logits) > 1e-3)
        }
    }

    @Test func badInputIsATypedError() throws {
        let s = try setup()
        let love = [SteeringVector.Pair(positive: "Love", negative: "Hate")]
        #expect(throws: SteeringError.noPairs) { try SteeringVector.compute(model: s.model, tokenizer: s.tokenizer, pairs: [], site: site) }
        #expect(throws: SteeringError.emptyPrompt(field: "negative of pair 1", text: "")) {
            try SteeringVector.compute(model: s.model, tokenizer: s.tokenizer, pairs: [.init(positive: "Love", negative: "")], site: site)
        }
        #expect(throws: SiteError.layerOutOfRange(layer: 9, model: "gpt2", layers: 2)) {
            try SteeringVector.compute(model: s.model, tokenizer: s.tokenizer, pairs: love, site: Site(layer: 9, component: .blockOutput))
        }
        #expect(throws: SteeringError.self) {  // head-major sites have no (positions, width) rows
            try SteeringVector.compute(model: s.model, tokenizer: s.tokenizer, pairs: love, site: Site(layer: 0, component: .attentionWeight))
        }
        #expect(throws: SteeringError.paddingNotOneToken(text: "", tokens: 0)) {
            try SteeringVector.compute(model: s.model, tokenizer: s.tokenizer, pairs: love, site: site, padding: "")
        }
        let vector = try SteeringVector.compute(model: s.model, tokenizer: s.tokenizer,
                                                pairs: [.init(positive: "I love you so much", negative: "Hate")], site: site)
        #expect(throws: SteeringError.invalidCoefficient(value: "nan")) { try vector.intervenable(model: s.model, coefficient: .nan) }
        #expect(throws: SteeringError.invalidCoefficient(value: "inf")) { try vector.intervenable(model: s.model, coefficient: .infinity) }
        let n = vector.vector.shape[0]
        #expect(throws: SteeringError.placementNeedsOneRow(placement: "all_positions", positions: n)) {
            try vector.intervenable(model: s.model, coefficient: 1, placement: .allPositions)
        }
        #expect(throws: SteeringError.promptTooShort(tokens: 2, positions: n)) {
            try SteeringVector.generate(try vector.intervenable(model: s.model, coefficient: 1), prompt: Array(repeating: 1, count: 2),
                                        config: GenerationConfig(maxNewTokens: 2))
        }
        let zero = try IntervenableModel(config: IntervenableConfig(RepresentationConfig(layer: 0, component: .blockOutput), interventionType: .zero),
                                         model: s.model)
        #expect(throws: SteeringError.self) { try SteeringVector.schedule(for: zero, promptLength: 4) }
        // Hyperparameters a bundle could carry are checked too.
        let config = IntervenableConfig(RepresentationConfig(layer: 0, component: .blockOutput,
                                                             interventionHyperparameters: ["coefficient": JSONCodable(.double(1)),
                                                                                           "placement": JSONCodable(.string("everywhere"))]),
                                        interventionType: .steering)
        #expect(throws: InterventionError.invalidHyperparameter(type: "SteeringIntervention", field: "placement", value: "\"everywhere\"",
                                                                allowed: "\"prompt\" or \"all_positions\"")) {
            try IntervenableModel(config: config, model: s.model)
        }
        #expect(throws: InterventionError.self) { try SteeringIntervention(vector: Tensor.zeros([1, 4]), coefficient: .nan) }
    }
}
