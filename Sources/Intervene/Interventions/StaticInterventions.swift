import Models
import Tensors

/// Shared behaviour of the static localist interventions: a block of units (B, units…, d), an
/// optional `interchange_dim` limiting the touched dimensions to [0, interchange_dim); the
/// output has the block's shape. Subclasses implement `apply`.
public class LocalistIntervention: Intervention {
    public var typeName: String { "LocalistIntervention" }
    public let embedDimension: Int?
    /// Only dimensions below this are touched when no subspaces are given (pyvene's
    /// `set_interchange_dim`); nil: all.
    public var interchangeDimension: Int?
    public var form: BlockForm { .units }
    public var sourceRequirement: SourceRequirement { .source }
    public var actsOnEveryTimeStep: Bool { false }

    public init(embedDimension: Int? = nil, interchangeDimension: Int? = nil) {
        self.embedDimension = embedDimension
        self.interchangeDimension = interchangeDimension
    }

    public var hyperparameters: JSONObject {
        var h = JSONObject()
        if let interchangeDimension { h["interchange_dim"] = .int(interchangeDimension) }
        return h
    }

    func mask(_ base: Tensor, _ subspaces: [[Int]]?) throws -> Tensor? {
        try SubspaceMask.make(blockShape: base.shape, subspaces: subspaces, limit: interchangeDimension, intervention: typeName)
    }

    func requireSource(_ source: Tensor?) throws -> Tensor {
        guard let source else { throw InterventionError.missingSource(intervention: typeName) }
        return source
    }

    /// Subclasses implement the formula; the base class itself is not an intervention.
    public func apply(base: Tensor, source: Tensor?, subspaces: [[Int]]?) throws -> InterventionResult {
        throw InterventionError.unknownType(typeName, known: ["VanillaIntervention", "AdditionIntervention", "SubtractionIntervention", "ZeroIntervention",
                                                              "SkipIntervention", "CollectIntervention", "ConstantSourceIntervention", "NoiseIntervention"])
    }
}

/// Interchange: out = (1 − m) ⊙ base + m ⊙ source, with m selecting the subspace of each
/// example (all dimensions by default). Block (B, units…, d) → same shape.
public final class VanillaIntervention: LocalistIntervention {
    public override var typeName: String { "VanillaIntervention" }
    public override func apply(base: Tensor, source: Tensor?, subspaces: [[Int]]?) throws -> InterventionResult {
        InterventionResult(SubspaceMask.blend(base, try requireSource(source), mask: try mask(base, subspaces)))
    }
}

/// Activation addition: out = base + m ⊙ source (steering when the source is a fixed vector).
/// Block (B, units…, d) → same shape.
public final class AdditionIntervention: LocalistIntervention {
    public override var typeName: String { "AdditionIntervention" }
    public override func apply(base: Tensor, source: Tensor?, subspaces: [[Int]]?) throws -> InterventionResult {
        let s = try requireSource(source)
        guard let m = try mask(base, subspaces) else { return InterventionResult(base + s) }
        return InterventionResult(base + s * m)
    }
}

/// Activation subtraction: out = base − m ⊙ source. Block (B, units…, d) → same shape.
public final class SubtractionIntervention: LocalistIntervention {
    public override var typeName: String { "SubtractionIntervention" }
    public override func apply(base: Tensor, source: Tensor?, subspaces: [[Int]]?) throws -> InterventionResult {
        let s = try requireSource(source)
        guard let m = try mask(base, subspaces) else { return InterventionResult(base - s) }
        return InterventionResult(base - s * m)
    }
}

/// Zero ablation: out = (1 − m) ⊙ base. Needs no source. Block (B, units…, d) → same shape.
public final class ZeroIntervention: LocalistIntervention {
    public override var typeName: String { "ZeroIntervention" }
    public override var sourceRequirement: SourceRequirement { .none }
    public override func apply(base: Tensor, source: Tensor?, subspaces: [[Int]]?) throws -> InterventionResult {
        guard let m = try mask(base, subspaces) else { return InterventionResult(base * 0) }
        return InterventionResult(base * (1 - m))
    }
}

/// Skips the component: its output is replaced by the same module's input in the base run
/// (block_output ← block_input, mlp_output ← mlp_input, attention_output ← attention_input,
/// cell_output ← cell_input): out = (1 − m) ⊙ output + m ⊙ input. Block (B, units…, d) → same shape.
public final class SkipIntervention: LocalistIntervention {
    public override var typeName: String { "SkipIntervention" }
    public override var sourceRequirement: SourceRequirement { .componentInput }
    public override func apply(base: Tensor, source: Tensor?, subspaces: [[Int]]?) throws -> InterventionResult {
        InterventionResult(SubspaceMask.blend(base, try requireSource(source), mask: try mask(base, subspaces)))
    }
}

/// Collects activations without changing them: out = base, and side output "collected" = the
/// base block restricted to each example's subspace (B, units…, k) when every example names k
/// dimensions, else to [0, interchange_dim), else the whole block (B, units…, d). Needs no
/// source. At a recurrent site it acts at every time step on every example (as pyvene does), so
/// the forward pass reports (S, B, d).
public final class CollectIntervention: LocalistIntervention {
    public override var typeName: String { "CollectIntervention" }
    public override var sourceRequirement: SourceRequirement { .none }
    public override var actsOnEveryTimeStep: Bool { true }
    /// The name of the side output.
    public static let sideOutputName = "collected"

    public override func apply(base: Tensor, source: Tensor?, subspaces: [[Int]]?) throws -> InterventionResult {
        InterventionResult(base, sideOutputs: [Self.sideOutputName: try collect(base: base, subspaces: subspaces)])
    }

    /// The collected value of a block.
    public func collect(base: Tensor, subspaces: [[Int]]?) throws -> Tensor {
        let width = base.shape[base.rank - 1]
        if let subspaces {
            guard subspaces.count == base.shape[0] else {
                throw InterventionError.dimensionMismatch(intervention: typeName, field: "subspaces rows", expected: base.shape[0], actual: subspaces.count)
            }
            guard let first = subspaces.first, subspaces.allSatisfy({ $0.count == first.count }) else {
                throw ConfigurationError.invalidField(field: "subspaces of \(typeName)", value: "\(subspaces.map(\.count)) dimensions per example",
                                                      allowed: "the same number of dimensions for every example (collected blocks are rectangular)")
            }
            for (b, row) in subspaces.enumerated() {
                for i in row where i < 0 || i >= width {
                    throw InterventionError.subspaceOutOfRange(intervention: typeName, example: b, index: i, width: width)
                }
            }
            var index: [Int] = []
            let rows = base.count / (base.shape[0] * width)
            for b in 0..<base.shape[0] { for _ in 0..<rows { index += subspaces[b] } }
            var shape = base.shape
            shape[shape.count - 1] = first.count
            return base.contiguous().gather(axis: base.rank - 1, index: IndexTensor(shape: shape, values: index))
        }
        if let limit = interchangeDimension, limit < width { return base.narrowed(base.rank - 1, start: 0, length: limit) }
        return base
    }
}

/// Interchange with a fixed source vector v (length d): out = (1 − m) ⊙ base + m ⊙ v.
/// Block (B, units…, d) → same shape.
public final class ConstantSourceIntervention: LocalistIntervention {
    public override var typeName: String { "ConstantSourceIntervention" }
    public override var sourceRequirement: SourceRequirement { .none }
    /// The vector written into the block.
    public let vector: Tensor

    public init(vector: Tensor, interchangeDimension: Int? = nil) {
        self.vector = vector
        super.init(embedDimension: nil, interchangeDimension: interchangeDimension)
    }

    public override var hyperparameters: JSONObject {
        var h = super.hyperparameters
        h["vector"] = .array(vector.scalars.map { .double(Double($0)) })
        return h
    }

    public override func apply(base: Tensor, source: Tensor?, subspaces: [[Int]]?) throws -> InterventionResult {
        guard vector.count == base.shape[base.rank - 1] else {
            throw InterventionError.dimensionMismatch(intervention: typeName, field: "block width", expected: vector.count, actual: base.shape[base.rank - 1])
        }
        return InterventionResult(SubspaceMask.blend(base, base * 0 + vector, mask: try mask(base, subspaces)))
    }
}

/// Gaussian noise: out = base + m ⊙ σ·ε with ε ~ N(0, 1) drawn from `seed`, one draw per block
/// element, so any number of positions is covered and the same block gets the same noise.
/// σ defaults to pyvene's 0.13462981581687927 (3 × the embedding std of GPT-2 in ROME).
/// Block (B, units…, d) → same shape.
public final class NoiseIntervention: LocalistIntervention {
    public override var typeName: String { "NoiseIntervention" }
    public override var sourceRequirement: SourceRequirement { .none }
    /// σ.
    public let noiseLevel: Float
    /// Seed of ε.
    public let seed: UInt64

    public init(noiseLevel: Float = 0.13462981581687927, seed: UInt64 = 1, interchangeDimension: Int? = nil) {
        self.noiseLevel = noiseLevel
        self.seed = seed
        super.init(embedDimension: nil, interchangeDimension: interchangeDimension)
    }

    public override var hyperparameters: JSONObject {
        var h = super.hyperparameters
        h["noise_level"] = .double(Double(noiseLevel))
        h["seed"] = .int(Int(truncatingIfNeeded: seed))
        return h
    }

    public override func apply(base: Tensor, source: Tensor?, subspaces: [[Int]]?) throws -> InterventionResult {
        let noise = Tensor.randomNormal(base.shape, std: noiseLevel, seed: seed)
        guard let m = try mask(base, subspaces) else { return InterventionResult(base + noise) }
        return InterventionResult(base + noise * m)
    }
}

/// An intervention written as a Swift closure, for ad-hoc experiments (not saved in bundles):
/// out = body(base, source, subspaces), with the block shapes of `form` — (B, units…, d) for
/// `.units`, (B, n) for `.flattened` — and the output shaped like the base.
public final class ClosureIntervention: Intervention {
    public let typeName = "ClosureIntervention"
    public let embedDimension: Int?
    public let form: BlockForm
    public let sourceRequirement: SourceRequirement
    let body: (Tensor, Tensor?, [[Int]]?) throws -> InterventionResult

    /// `body(base, source, subspaces)` returns the new block.
    public convenience init(form: BlockForm = .units, needsSource: Bool = true, embedDimension: Int? = nil,
                            _ body: @escaping (Tensor, Tensor?, [[Int]]?) throws -> Tensor) {
        self.init(form: form, needsSource: needsSource, embedDimension: embedDimension, result: { InterventionResult(try body($0, $1, $2)) })
    }

    /// `body(base, source, subspaces)` returns the new block with auxiliary losses and side outputs.
    public init(form: BlockForm = .units, needsSource: Bool = true, embedDimension: Int? = nil,
                result body: @escaping (Tensor, Tensor?, [[Int]]?) throws -> InterventionResult) {
        self.form = form
        self.sourceRequirement = needsSource ? .source : .none
        self.embedDimension = embedDimension
        self.body = body
    }

    public func apply(base: Tensor, source: Tensor?, subspaces: [[Int]]?) throws -> InterventionResult {
        try body(base, source, subspaces)
    }
}
