import Models
import Tensors

/// Distributed alignment search (DAS): interchange inside a learned rotation R (n × n):
///
///     rb = base · R,  rs = source · R
///     out = ((1 − m) ⊙ rb + m ⊙ rs) · Rᵀ
///
/// m selects each example's subspace of rotated dimensions (or [0, interchange_dim); by default
/// every dimension, which makes out = source). Block: (B, n) flattened units.
public final class RotatedSpaceIntervention: Intervention {
    public var typeName: String { "RotatedSpaceIntervention" }
    public let rotation: Rotation
    public var interchangeDimension: Int?
    public var embedDimension: Int? { rotation.dimension }
    public var form: BlockForm { .flattened }
    public var sourceRequirement: SourceRequirement { .source }

    public init(embedDimension n: Int, interchangeDimension: Int? = nil, seed: UInt64) {
        rotation = Rotation(dimension: n, seed: seed)
        self.interchangeDimension = interchangeDimension
    }

    public var namedParameters: [(name: String, parameter: Parameter)] { [("rotate_layer.generator", rotation.generator)] }

    public var hyperparameters: JSONObject {
        var h = JSONObject([("embed_dim", .int(rotation.dimension))])
        if let interchangeDimension { h["interchange_dim"] = .int(interchangeDimension) }
        return h
    }

    public func stateTensors() -> [String: Tensor] { ["rotate_layer.weight": Tensor.withoutGradients { rotation.matrix() }] }

    public func loadState(_ tensors: [String: Tensor]) throws {
        try rotation.load(try stateTensor(tensors, "rotate_layer.weight", shape: [rotation.dimension, rotation.dimension], intervention: typeName))
    }

    public func apply(base: Tensor, source: Tensor?, subspaces: [[Int]]?) throws -> InterventionResult {
        guard let source else { throw InterventionError.missingSource(intervention: typeName) }
        var shape = base.shape
        shape[shape.count - 1] = rotation.columns
        let m = try SubspaceMask.make(blockShape: shape, subspaces: subspaces, limit: interchangeDimension, intervention: typeName)
        return InterventionResult(rotation.interchange(base: base, source: source, mask: m))
    }
}

/// Low-rank DAS: interchange along k learned orthonormal directions W (n × k):
///
///     out = base + (m ⊙ (source · W − base · W)) · Wᵀ
///
/// m selects low-rank dimensions per example (all by default). Block: (B, n).
public final class LowRankRotatedSpaceIntervention: Intervention {
    public var typeName: String { "LowRankRotatedSpaceIntervention" }
    public let rotation: Rotation
    public var embedDimension: Int? { rotation.dimension }
    public var form: BlockForm { .flattened }
    public var sourceRequirement: SourceRequirement { .source }

    public init(embedDimension n: Int, rank k: Int, seed: UInt64) {
        rotation = Rotation(dimension: n, columns: k, seed: seed)
    }

    public var namedParameters: [(name: String, parameter: Parameter)] { [("rotate_layer.generator", rotation.generator)] }

    public var hyperparameters: JSONObject {
        JSONObject([("embed_dim", .int(rotation.dimension)), ("low_rank_dimension", .int(rotation.columns))])
    }

    public func stateTensors() -> [String: Tensor] { ["rotate_layer.weight": Tensor.withoutGradients { rotation.matrix() }] }

    public func loadState(_ tensors: [String: Tensor]) throws {
        try rotation.load(try stateTensor(tensors, "rotate_layer.weight", shape: [rotation.dimension, rotation.columns], intervention: typeName))
    }

    public func apply(base: Tensor, source: Tensor?, subspaces: [[Int]]?) throws -> InterventionResult {
        guard let source else { throw InterventionError.missingSource(intervention: typeName) }
        let w = rotation.matrix()
        var difference = source.matmul(w) - base.matmul(w)
        if let m = try SubspaceMask.make(blockShape: difference.shape, subspaces: subspaces, limit: nil, intervention: typeName) {
            difference = difference * m
        }
        return InterventionResult(base + difference.matmul(w.transposed()))
    }
}

/// Boundless DAS: a learned boundary b ∈ [10⁻³, 1] decides how much of the rotated space is
/// swapped, softly, with temperature T:
///
///     mask_i = σ(i / T) · σ((clamp(b, 10⁻³, 1) · n − i) / T),  i = 0 … n−1
///     out = ((1 − mask) ⊙ base·R + mask ⊙ source·R) · Rᵀ
///
/// Subspaces are ignored (as in pyvene). T is usually annealed by a schedule; it is a parameter
/// so its gradient can be read, but it is not trained by default. Block: (B, n).
///
/// Auxiliary loss "boundary" = Σ b (scalar, differentiable): the trainer adds it weighted by
/// `TrainingOptions.boundaryRegularization`, favouring small subspaces.
public final class BoundlessRotatedSpaceIntervention: Intervention {
    public var typeName: String { "BoundlessRotatedSpaceIntervention" }
    public let rotation: Rotation
    /// b (shape [1]), initially 0.5.
    public let boundaries: Parameter
    /// T (shape []), initially 50.
    public let temperature: Parameter
    public var embedDimension: Int? { rotation.dimension }
    public var form: BlockForm { .flattened }
    public var sourceRequirement: SourceRequirement { .source }

    public init(embedDimension n: Int, seed: UInt64, boundary: Float = 0.5, temperature t: Float = 50) {
        rotation = Rotation(dimension: n, seed: seed)
        boundaries = Parameter(Tensor([boundary]))
        temperature = Parameter(Tensor(scalar: t), trainable: false)
    }

    public var namedParameters: [(name: String, parameter: Parameter)] {
        [("rotate_layer.generator", rotation.generator), ("intervention_boundaries", boundaries), ("temperature", temperature)]
    }

    public var hyperparameters: JSONObject { JSONObject([("embed_dim", .int(rotation.dimension))]) }

    public func stateTensors() -> [String: Tensor] {
        ["rotate_layer.weight": Tensor.withoutGradients { rotation.matrix() }, "intervention_boundaries": boundaries.value.detached(),
         "temperature": temperature.value.detached()]
    }

    public func loadState(_ tensors: [String: Tensor]) throws {
        let n = rotation.dimension
        try rotation.load(try stateTensor(tensors, "rotate_layer.weight", shape: [n, n], intervention: typeName))
        boundaries.assign(try stateTensor(tensors, "intervention_boundaries", shape: [1], intervention: typeName))
        if let t = try stateScalar(tensors, "temperature", intervention: typeName) { temperature.assign(Tensor(scalar: t)) }
    }

    /// The name of the boundary penalty among the auxiliary losses.
    public static let boundaryLossName = "boundary"

    /// The boundary penalty Σ b (a differentiable scalar).
    public var boundaryPenalty: Tensor { boundaries.value.sum() }

    /// The current soft mask (n).
    public func mask() -> Tensor {
        let n = rotation.dimension
        let i = Tensor.arange(n)
        let b = boundaries.value.clamped(min: 1e-3, max: 1) * Float(n)
        let t = temperature.value
        return (i / t).sigmoid() * ((b - i) / t).sigmoid()
    }

    public func apply(base: Tensor, source: Tensor?, subspaces: [[Int]]?) throws -> InterventionResult {
        guard let source else { throw InterventionError.missingSource(intervention: typeName) }
        return InterventionResult(rotation.interchange(base: base, source: source, mask: mask()),
                                  auxiliaryLosses: [Self.boundaryLossName: boundaryPenalty])
    }
}

/// Rotated space with one learned sigmoid gate per rotated dimension:
///
///     mask = σ(masks / T);  out = ((1 − mask) ⊙ base·R + mask ⊙ source·R) · Rᵀ
///
/// masks start at 100 (gates open). Subspaces are ignored. Block: (B, n).
public final class SigmoidMaskRotatedSpaceIntervention: Intervention {
    public var typeName: String { "SigmoidMaskRotatedSpaceIntervention" }
    public let rotation: Rotation
    public let masks: Parameter
    public let temperature: Parameter
    public var embedDimension: Int? { rotation.dimension }
    public var form: BlockForm { .flattened }
    public var sourceRequirement: SourceRequirement { .source }

    public init(embedDimension n: Int, seed: UInt64, temperature t: Float = 50) {
        rotation = Rotation(dimension: n, seed: seed)
        masks = Parameter(Tensor.full([n], 100))
        temperature = Parameter(Tensor(scalar: t), trainable: false)
    }

    public var namedParameters: [(name: String, parameter: Parameter)] {
        [("rotate_layer.generator", rotation.generator), ("masks", masks), ("temperature", temperature)]
    }

    public var hyperparameters: JSONObject { JSONObject([("embed_dim", .int(rotation.dimension))]) }

    public func stateTensors() -> [String: Tensor] {
        ["rotate_layer.weight": Tensor.withoutGradients { rotation.matrix() }, "masks": masks.value.detached(), "temperature": temperature.value.detached()]
    }

    public func loadState(_ tensors: [String: Tensor]) throws {
        let n = rotation.dimension
        try rotation.load(try stateTensor(tensors, "rotate_layer.weight", shape: [n, n], intervention: typeName))
        masks.assign(try stateTensor(tensors, "masks", shape: [n], intervention: typeName))
        if let t = try stateScalar(tensors, "temperature", intervention: typeName) { temperature.assign(Tensor(scalar: t)) }
    }

    public func apply(base: Tensor, source: Tensor?, subspaces: [[Int]]?) throws -> InterventionResult {
        guard let source else { throw InterventionError.missingSource(intervention: typeName) }
        return InterventionResult(rotation.interchange(base: base, source: source, mask: (masks.value / temperature.value).sigmoid()))
    }
}

/// A learned sigmoid gate per dimension, without rotation:
///
///     w = σ(mask / T);  out = (1 − w) ⊙ base + w ⊙ source
///
/// T is a fixed hyperparameter (no gradient, as in pyvene). Subspaces are ignored. The block is
/// flattened, so the mask covers every unit: (B, n) with n = unit dimension × units.
public final class SigmoidMaskIntervention: Intervention {
    public var typeName: String { "SigmoidMaskIntervention" }
    public let mask: Parameter
    public var temperature: Float
    public var embedDimension: Int? { mask.shape[0] }
    public var form: BlockForm { .flattened }
    public var sourceRequirement: SourceRequirement { .source }

    public init(embedDimension n: Int, temperature: Float = 0.01) {
        mask = Parameter(Tensor.zeros([n]))
        self.temperature = temperature
    }

    public var namedParameters: [(name: String, parameter: Parameter)] { [("mask", mask)] }

    public var hyperparameters: JSONObject {
        JSONObject([("embed_dim", .int(mask.shape[0])), ("temperature", .double(Double(temperature)))])
    }

    public func stateTensors() -> [String: Tensor] { ["mask": mask.value.detached()] }

    public func loadState(_ tensors: [String: Tensor]) throws {
        mask.assign(try stateTensor(tensors, "mask", shape: mask.shape, intervention: typeName))
        if let t = try stateScalar(tensors, "temperature", intervention: typeName) { temperature = t }
    }

    public func apply(base: Tensor, source: Tensor?, subspaces: [[Int]]?) throws -> InterventionResult {
        guard let source else { throw InterventionError.missingSource(intervention: typeName) }
        let w = (mask.value * (1 / temperature)).sigmoid()
        return InterventionResult((1 - w) * base + w * source)
    }
}
