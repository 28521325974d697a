import Foundation
import Testing
@testable import Intervene
import Models
import Tensors

/// Auxiliary losses travel from `apply` through the forward pass into the trainer's objective.
@Suite struct AuxiliaryLossTests {
    let tokens = ids((0..<8).map { b in (0..<6).map { (b * 5 + $0 * 3) % 40 } })

    func penaltyModel() throws -> (IntervenableModel, PenaltyIntervention) {
        let penalty = PenaltyIntervention()
        let config = IntervenableConfig(RepresentationConfig(layer: 1, component: .blockOutput))
        return (try IntervenableModel(config: config, model: tinyGPT2(), prebuilt: [0: penalty]), penalty)
    }

    @Test func forwardReportsTheLossPerKeyInTheGraph() throws {
        let (im, penalty) = try penaltyModel()
        let out = try im.forward(base: .tokens(tokens), unitLocations: .position(5, batchSize: 8))
        #expect(out.auxiliaryLosses[im.keys[0]]?["penalty"]?.item == 0.25)
        #expect(out.sideOutputs[im.keys[0]]?["p"]?.scalars == [0.5])
        let terms = im.auxiliaryLossTerms(out)
        #expect(terms.map(\.name) == ["penalty"] && terms.map(\.key) == [im.keys[0]])
        terms[0].loss.backward()
        #expect(penalty.p.grad?.scalars == [1])  // d(p²)/dp at p = 0.5
    }

    /// One SGD step of learning rate 0.1: the logits do not depend on p, so p moves only by
    /// weight · 2p.
    @Test func trainerAddsEachLossWithItsWeight() throws {
        func stepped(weights: [String: Float]) throws -> (p: Float, loss: Float) {
            let (im, penalty) = try penaltyModel()
            var options = TrainingOptions()
            options.batchSize = 8
            options.optimizer = .sgd
            options.learningRate = 0.1
            options.auxiliaryLossWeights = weights
            options.progress = .silent
            let trainer = InterventionTrainer(model: im, collator: { (rows: [Int]) in
                InterventionBatch(base: .tokens(self.tokens), unitLocations: .position(5, batchSize: rows.count), labels: rows, labelPosition: -1)
            }, options: options)
            let history = try trainer.train(Array(0..<8))
            return (penalty.p.value.item, history.losses[0].loss)
        }
        let plain = try stepped(weights: ["penalty": 0])
        let unit = try stepped(weights: [:])
        let triple = try stepped(weights: ["penalty": 3])
        #expect(plain.p == 0.5)
        #expect(abs(unit.p - (0.5 - 0.1 * 1)) < 1e-6)
        #expect(abs(triple.p - (0.5 - 0.1 * 3)) < 1e-6)
        #expect(abs(unit.loss - plain.loss - 0.25) < 1e-5)
        #expect(abs(triple.loss - plain.loss - 0.75) < 1e-5)
    }

    @Test func linkedAndRecurrentInterventionsCountOncePerCall() throws {
        let shared = PenaltyIntervention()
        let linked = IntervenableConfig(representations: [RepresentationConfig(layer: 0, component: .blockOutput, interventionLinkKey: 1),
                                                          RepresentationConfig(layer: 1, component: .blockOutput, interventionLinkKey: 1)])
        let im = try IntervenableModel(config: linked, model: tinyGPT2(), prebuilt: [0: shared])
        let out = try im.forward(base: .tokens(tokens), unitLocations: .position(5, batchSize: 8, interventions: 2))
        #expect(out.auxiliaryLosses.count == 2)
        #expect(im.auxiliaryLossTerms(out).map { $0.loss.item } == [0.25])
        // Three time steps, one loss.
        let gru = try IntervenableModel(config: IntervenableConfig(RepresentationConfig(layer: 0, component: .cellOutput, unit: .timeStep)),
                                        model: tinyGRU(), prebuilt: [0: PenaltyIntervention()])
        let steps = try gru.forward(base: gruInput())
        #expect(gru.auxiliaryLossTerms(steps).map { $0.loss.item } == [0.25])
        #expect(try steps.sideOutput("p", representation: 0).shape == [3, 1])
    }

    @Test func boundlessReportsItsBoundaryPenalty() throws {
        let boundless = BoundlessRotatedSpaceIntervention(embedDimension: 4, seed: 1, boundary: 0.3)
        let result = try boundless.apply(base: Tensor.zeros([2, 4]), source: Tensor.ones([2, 4]), subspaces: nil)
        #expect(result.auxiliaryLosses.keys.sorted() == [BoundlessRotatedSpaceIntervention.boundaryLossName])
        #expect(abs(result.auxiliaryLosses["boundary"]!.item - 0.3) < 1e-7)
    }
}

extension TrainerTests {
    /// The generic path reproduces the old trainer exactly: λ · Σ b added once per forward call.
    @Test func boundaryRegularizationEqualsAnExplicitPenalty() throws {
        func run(generic: Bool) throws -> (losses: [Float], parameters: [[Float]]) {
            let (im, collate) = try setup(type: .boundlessRotatedSpace)
            let boundless = im.interventions[0] as! BoundlessRotatedSpaceIntervention
            var options = TrainingOptions()
            options.batchSize = 16
            options.temperature = (50, 0.5)
            options.parameterLearningRates = ["intervention_boundaries": 0.05]
            options.progress = .silent
            if generic { options.boundaryRegularization = 0.7 } else { options.auxiliaryLossWeights = ["boundary": 0] }
            let trainer = InterventionTrainer(model: im, collator: collate, loss: { out, batch in
                generic ? counterfactualCrossEntropy(out, batch) : counterfactualCrossEntropy(out, batch) + boundless.boundaryPenalty * 0.7
            }, options: options)
            let history = try trainer.train(Array(0..<64))
            return (history.losses.map(\.loss), im.trainableParameters.map { $0.parameter.value.scalars })
        }
        let generic = try run(generic: true), explicit = try run(generic: false)
        #expect(generic.losses == explicit.losses)
        #expect(generic.parameters == explicit.parameters)
    }
}
