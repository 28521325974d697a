/// A learning-rate multiplier as a function of the step (0-based).
public struct LearningRateSchedule: Sendable {
    /// The multiplier at a step.
    public let multiplier: @Sendable (Int) -> Float

    /// A custom schedule.
    public init(_ multiplier: @escaping @Sendable (Int) -> Float) {
        self.multiplier = multiplier
    }

    /// Always 1.
    public static let constant = LearningRateSchedule { _ in 1 }

    /// Linear warm-up from 0 to 1 over `warmupSteps`, then linear decay to 0 at `totalSteps`
    /// (the schedule of `transformers.get_linear_schedule_with_warmup`).
    public static func linearWarmupDecay(warmupSteps: Int, totalSteps: Int) -> LearningRateSchedule {
        LearningRateSchedule { step in
            if step < warmupSteps { return Float(step + 1) / Float(Swift.max(warmupSteps, 1)) }
            let remaining = totalSteps - step
            return Swift.max(0, Float(remaining) / Float(Swift.max(totalSteps - warmupSteps, 1)))
        }
    }

    /// Linear warm-up, then constant.
    public static func linearWarmup(steps: Int) -> LearningRateSchedule {
        LearningRateSchedule { step in Swift.min(1, Float(step + 1) / Float(Swift.max(steps, 1))) }
    }

    /// Sets the optimizer's multiplier for `step`.
    public func apply(to optimizer: Optimizer, step: Int) {
        optimizer.learningRateScale = multiplier(step)
    }
}
