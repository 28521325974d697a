/// Training stopped, or could not start, on a problem it cannot continue from. Every case names
/// what is wrong and, for inputs, what is allowed.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    /// The loss became NaN or infinite; the parameters keep their values from the last step.
    case nonFiniteLoss(step: Int, epoch: Int, value: Float)
    /// The loss was finite but its gradient was not (norm NaN or infinite); the step was not
    /// applied.
    case nonFiniteGradient(step: Int, epoch: Int, norm: Float)
    /// Nothing to train or evaluate on.
    case emptyDataset(String)
    /// The model has no trainable intervention parameters.
    case nothingToTrain
    /// A `TrainingOptions` field (`name`, e.g. "batchSize") has a value training cannot use.
    case invalidOption(name: String, value: String, allowed: String)
    /// A batch does not fit the model's output: `field` ("labels[3]", "labelPosition", …) is
    /// `value` where `allowed` is needed.
    case invalidBatch(field: String, value: String, allowed: String)

    public var description: String {
        switch self {
        case .nonFiniteLoss(let step, let epoch, let value):
            return "loss became \(value) at step \(step) (epoch \(epoch)); the interventions keep their values from the last finite step"
        case .nonFiniteGradient(let step, let epoch, let norm):
            return "gradient norm became \(norm) at step \(step) (epoch \(epoch)); the step was not applied and the interventions keep their values from step \(step - 1)"
        case .emptyDataset(let which): return "the \(which) set is empty"
        case .nothingToTrain: return "no intervention has trainable parameters"
        case .invalidOption(let name, let value, let allowed): return "training option '\(name)' has value \(value); allowed: \(allowed)"
        case .invalidBatch(let field, let value, let allowed): return "batch field '\(field)' has value \(value); allowed: \(allowed)"
        }
    }
}
