import Testing
import Foundation
@testable import Tensors

@Suite struct OptimizerTests {
    /// Loss ½‖w − target‖² has gradient w − target.
    func quadraticStep(_ optimizer: Optimizer, _ w: Parameter, target: Tensor) {
        optimizer.zeroGrad()
        ((w.value - target).square().sum() * 0.5).backward()
        optimizer.step()
    }

    @Test func sgdWithMomentumMatchesHandComputation() {
        let w = Parameter(Tensor([1, 1]))
        let sgd = SGD([w], learningRate: 0.1, momentum: 0.9)
        quadraticStep(sgd, w, target: Tensor([0, 0]))   // v = 1, w = 0.9
        quadraticStep(sgd, w, target: Tensor([0, 0]))   // v = 0.9·1 + 0.9 = 1.8, w = 0.9 − 0.18 = 0.72
        #expect(abs(w.value.scalars[0] - 0.72) < 1e-6)
    }

    @Test func adamFirstStepMovesByLearningRate() {
        let w = Parameter(Tensor([1, -2]))
        let adam = Adam([w], learningRate: 0.01)
        quadraticStep(adam, w, target: Tensor([0, 0]))
        // Bias-corrected first step is lr · sign(g).
        #expect(abs(w.value.scalars[0] - 0.99) < 1e-6)
        #expect(abs(w.value.scalars[1] - (-1.99)) < 1e-6)
        // The second step uses the stored moments: 0.99 − 0.01 · m̂ / √v̂ = 0.9800027 (0.98005 without them).
        quadraticStep(adam, w, target: Tensor([0, 0]))
        #expect(abs(w.value.scalars[0] - 0.9800027) < 2e-6)
        for _ in 0..<2000 { quadraticStep(adam, w, target: Tensor([3, 4])) }
        #expect(abs(w.value.scalars[0] - 3) < 1e-2)
    }

    @Test func adamWDecaysWeightsDirectly() {
        let w = Parameter(Tensor([2]))
        let adamw = AdamW(groups: [ParameterGroup([w], learningRate: 0.1, weightDecay: 0.5)])
        w.value.gradNode?.grad = Tensor([0])
        adamw.step()
        // Zero gradient: only the decay acts, w ← w · (1 − lr·wd).
        #expect(abs(w.value.scalars[0] - 1.9) < 1e-6)
    }

    @Test func parameterGroupsUseTheirOwnRates() {
        let a = Parameter(Tensor([1])), b = Parameter(Tensor([1]))
        let sgd = SGD(groups: [ParameterGroup([a], learningRate: 0.1), ParameterGroup([b], learningRate: 0.01)])
        sgd.zeroGrad()
        (a.value + b.value).sum().backward()
        sgd.step()
        #expect(abs(a.value.scalars[0] - 0.9) < 1e-6)
        #expect(abs(b.value.scalars[0] - 0.99) < 1e-6)
    }

    @Test func clippingScalesToMaxNorm() {
        let w = Parameter(Tensor([0, 0]))
        let sgd = SGD([w], learningRate: 1)
        (w.value * Tensor([3, 4])).sum().backward()
        let norm = sgd.clipGradientNorm(1)
        #expect(abs(norm - 5) < 1e-5)
        #expect(abs(w.grad!.scalars[0] - 0.6) < 1e-4)
        #expect(abs(w.grad!.scalars[1] - 0.8) < 1e-4)
    }

    @Test func schedules() {
        let s = LearningRateSchedule.linearWarmupDecay(warmupSteps: 10, totalSteps: 110)
        #expect(s.multiplier(0) == 0.1)
        #expect(s.multiplier(9) == 1)
        #expect(s.multiplier(60) == 0.5)
        #expect(s.multiplier(200) == 0)
        let w = Parameter(Tensor([1]))
        let sgd = SGD([w], learningRate: 1)
        s.apply(to: sgd, step: 0)
        #expect(sgd.learningRateScale == 0.1)
    }

    @Test func parameterUpdateKeepsIdentityAndTrainability() {
        let p = Parameter(Tensor([1, 2]))
        (p.value * 2).sum().backward()
        let version = p.version
        p.update { $0[0] = 5 }
        #expect(p.value.scalars == [5, 2])
        #expect(p.version > version)
        #expect(p.isTrainable)
        // The gradient and the autodiff leaf survive the update: a second backward accumulates.
        #expect(p.grad?.scalars == [2, 2])
        (p.value * 3).sum().backward()
        #expect(p.grad?.scalars == [5, 5])
        p.isTrainable = false
        #expect(!p.value.requiresGrad)
    }
}
