import Foundation
import Testing
@testable import Intervene
import Models
import Tensors

@Suite struct TrainerTests {
    /// Examples are indices into fixed base/source batches; labels are the source's argmax.
    func setup(type: InterventionType = .rotatedSpace) throws -> (IntervenableModel, ([Int]) -> InterventionBatch) {
        let model = tinyGPT2()
        // Swap only 2 of 16 rotated dimensions, so that the rotation has something to learn.
        let hyper: [String: JSONCodable]? = type == .rotatedSpace ? ["interchange_dim": 2] : nil
        let im = try IntervenableModel(config: IntervenableConfig(RepresentationConfig(layer: 1, component: .blockOutput, interventionHyperparameters: hyper),
                                                                  interventionType: type), model: model, seed: 1)
        var g = RandomGenerator(seed: 5)
        let bases = (0..<64).map { _ in (0..<6).map { _ in g.nextInt(below: 40) } }
        let sources = (0..<64).map { _ in (0..<6).map { _ in g.nextInt(below: 40) } }
        let labels = try Tensor.withoutGradients { try model(.tokens(ids(sources))).logits.narrowed(1, start: 5, length: 1).reshaped([64, 40]).argmax().values }
        let collate: ([Int]) -> InterventionBatch = { idx in
            InterventionBatch(base: .tokens(ids(idx.map { bases[$0] })), sources: [.tokens(ids(idx.map { sources[$0] }))],
                              unitLocations: .position(5, batchSize: idx.count), labels: idx.map { labels[$0] }, labelPosition: -1)
        }
        return (im, collate)
    }

    @Test func trainingRaisesIIA() throws {
        let (im, collate) = try setup()
        var options = TrainingOptions()
        options.epochs = 30
        options.batchSize = 16
        options.learningRate = 5e-2
        options.progress = .silent
        let trainer = InterventionTrainer(model: im, collator: collate, options: options)
        let before = try trainer.evaluate(Array(0..<64))["iia"]!
        let history = try trainer.train(Array(0..<64), evaluation: Array(0..<64))
        let after = try trainer.evaluate(Array(0..<64))["iia"]!
        #expect(after > before + 0.2)
        #expect(history.steps == 120)
        #expect(history.evaluations.count == 30)
        let first = history.losses.prefix(8).map(\.loss).reduce(0, +), last = history.losses.suffix(8).map(\.loss).reduce(0, +)
        #expect(last < first)
    }

    /// Trains with a loss that goes wrong on the third batch; returns the error and whether the
    /// parameters after it equal those the third batch started from.
    func trainUntilFailure(_ corrupt: @escaping (Tensor) -> Tensor) throws -> (error: TrainingError?, unchanged: Bool, moved: Bool) {
        let (im, collate) = try setup()
        let parameter = im.trainableParameters[0].parameter
        let initial = parameter.value.scalars
        var calls = 0
        var atFailure: [Float] = []
        var options = TrainingOptions()
        options.batchSize = 16
        options.progress = .silent
        let trainer = InterventionTrainer(model: im, collator: collate, loss: { out, batch in
            calls += 1
            let ce = counterfactualCrossEntropy(out, batch)
            guard calls == 3 else { return ce }
            atFailure = parameter.value.scalars
            return corrupt(ce)
        }, options: options)
        do {
            _ = try trainer.train(Array(0..<64))
            return (nil, false, false)
        } catch let error as TrainingError {
            let after = parameter.value.scalars
            return (error, after == atFailure && after.allSatisfy(\.isFinite), after != initial)
        }
    }

    @Test func nonFiniteLossStopsAndKeepsTheLastGoodValues() throws {
        let (error, unchanged, moved) = try trainUntilFailure { $0 * Float.nan }
        guard case .nonFiniteLoss(let step, let epoch, let value)? = error else { Issue.record("expected nonFiniteLoss, got \(String(describing: error))"); return }
        #expect(step == 3 && epoch == 1 && value.isNaN)
        #expect("\(error!)".contains("step 3"))
        #expect(unchanged && moved)  // two real steps happened, the third was not applied
    }

    /// A finite loss whose gradient is NaN (√u at u = 0, times 0) is caught before the step.
    @Test func nonFiniteGradientIsNotApplied() throws {
        let (error, unchanged, moved) = try trainUntilFailure { $0 + ($0 * 0).sqrt() }
        guard case .nonFiniteGradient(let step, _, let norm)? = error else { Issue.record("expected nonFiniteGradient, got \(String(describing: error))"); return }
        #expect(step == 3 && !norm.isFinite)
        #expect(unchanged && moved)
    }

    @Test func gradientAccumulationMatchesALargerBatch() throws {
        func finalWeights(batch: Int, accumulate: Int) throws -> [Float] {
            let (im, collate) = try setup()
            var options = TrainingOptions()
            options.batchSize = batch
            options.gradientAccumulationSteps = accumulate
            options.optimizer = .sgd
            options.learningRate = 0.1
            options.shuffle = false
            options.progress = .silent
            try InterventionTrainer(model: im, collator: collate, options: options).train(Array(0..<64))
            return im.trainableParameters[0].parameter.value.scalars
        }
        let big = try finalWeights(batch: 32, accumulate: 1), small = try finalWeights(batch: 16, accumulate: 2)
        #expect(zip(big, small).map { abs($0 - $1) }.max()! < 1e-5)
    }

    @Test func temperatureAnnealsAndBoundariesUseTheirRate() throws {
        let (im, collate) = try setup(type: .boundlessRotatedSpace)
        var options = TrainingOptions()
        options.batchSize = 16
        options.temperature = (50, 0.5)
        options.parameterLearningRates = ["intervention_boundaries": 0.5]
        options.learningRate = 1e-6
        options.boundaryRegularization = 1
        options.progress = .silent
        let boundless = im.interventions[0] as! BoundlessRotatedSpaceIntervention
        let trainer = InterventionTrainer(model: im, collator: collate, options: options)
        try trainer.train(Array(0..<64))
        #expect(abs(boundless.temperature.value.item - 0.5) < 1e-5)
        // With λ = 1 the regulariser pushes the boundary down quickly at its own rate.
        #expect(boundless.boundaries.value.item < 0.5 - 0.5)
    }

    @Test func earlyStoppingEndsTraining() throws {
        let (im, collate) = try setup()
        var options = TrainingOptions()
        options.epochs = 50
        options.batchSize = 64
        options.learningRate = 1e-9
        options.earlyStoppingPatience = 2
        options.progress = .silent
        let history = try InterventionTrainer(model: im, collator: collate, options: options).train(Array(0..<64), evaluation: Array(0..<64))
        #expect(history.stoppedEarly)
        #expect(history.evaluations.count == 3)
        #expect(throws: TrainingError.self) { try InterventionTrainer(model: im, collator: collate).train([]) }
    }

    /// A batch size or gradient-accumulation count below 1 throws naming the option (it used to
    /// trap in `stride(by: 0)` or divide by zero).
    @Test func zeroOrNegativeBatchSizeAndAccumulationThrow() throws {
        let (im, collate) = try setup()
        func error(_ change: (inout TrainingOptions) -> Void) -> TrainingError? {
            var options = TrainingOptions()
            options.progress = .silent
            change(&options)
            do { try InterventionTrainer(model: im, collator: collate, options: options).train(Array(0..<8)) } catch let e as TrainingError { return e } catch {}
            return nil
        }
        let counts = "an integer in 1...16777216"
        #expect(error { $0.batchSize = 0 } == .invalidOption(name: "batchSize", value: "0", allowed: counts))
        #expect(error { $0.batchSize = -4 } == .invalidOption(name: "batchSize", value: "-4", allowed: counts))
        #expect(error { $0.batchSize = Int.max } == .invalidOption(name: "batchSize", value: "\(Int.max)", allowed: counts))
        #expect(error { $0.epochs = Int.max } == .invalidOption(name: "epochs", value: "\(Int.max)", allowed: "an integer in 1...1000000"))
        #expect(error { $0.gradientAccumulationSteps = 0 } == .invalidOption(name: "gradientAccumulationSteps", value: "0", allowed: counts))
        #expect(error { $0.gradientAccumulationSteps = -1 } == .invalidOption(name: "gradientAccumulationSteps", value: "-1", allowed: counts))
        #expect(error { $0.evaluateEvery = 0 } == .invalidOption(name: "evaluateEvery", value: "0", allowed: "a positive number of steps (or nil)"))
        #expect(error { $0.earlyStoppingPatience = 2 }?.description
                == "training option 'earlyStoppingPatience' has value 2; allowed: nil unless train(_:evaluation:) gets evaluation examples for early stopping to watch")
        #expect("\(TrainingError.invalidOption(name: "batchSize", value: "0", allowed: counts))"
                == "training option 'batchSize' has value 0; allowed: an integer in 1...16777216")
        var options = TrainingOptions()
        options.batchSize = 0
        #expect(throws: TrainingError.invalidOption(name: "batchSize", value: "0", allowed: counts)) {
            try InterventionTrainer(model: im, collator: collate, options: options).evaluate(Array(0..<8))
        }
    }
}

