import Models
import Tensors

/// How the IntervenableModel presents a gathered block to an intervention.
public enum BlockForm: Sendable {
    /// RepresentationUnit by unit: (B, n, d) for positions, (B, heads, positions, d) for heads, (B, d) per
    /// time step. Subspaces index the last dimension d. (pyvene's "localist" interventions.)
    case units
    /// Units flattened into one vector per example: (B, n·d) for positions,
    /// (B, positions, heads·d) for heads. (pyvene's "distributed" interventions.)
    case flattened
}

/// Where an intervention's source comes from.
public enum SourceRequirement: Sendable {
    /// Activations of a source input at the source locations (or a constant source vector).
    case source
    /// No source at all (zero, collect, noise).
    case none
    /// The input of the same module in the base run (skip).
    case componentInput
}

/// One intervention: a function of the base block, a source block and per-example subspaces
/// that returns an `InterventionResult` — the new base block, auxiliary losses and named side
/// outputs.
///
/// Every kind — static, rotated-space, mask, collect, autoencoder, codebook — conforms to this
/// protocol; the IntervenableModel gathers blocks, calls `apply`, scatters `output` back and
/// reports the losses and side outputs per intervention key. Each conforming type states its
/// formula and shapes in its documentation.
public protocol Intervention: AnyObject {
    /// The type name on the wire (pyvene's class name, e.g. "VanillaIntervention").
    var typeName: String { get }
    /// Width of the (flattened) block the intervention expects, or nil for any width.
    var embedDimension: Int? { get }
    /// How blocks are presented.
    var form: BlockForm { get }
    /// Where the source comes from.
    var sourceRequirement: SourceRequirement { get }
    /// Trainable parameters by name (empty for static interventions).
    var namedParameters: [(name: String, parameter: Parameter)] { get }
    /// Constructor arguments needed to rebuild this intervention (saved in bundles).
    var hyperparameters: JSONObject { get }
    /// At a recurrent site (unit "t"): act on every example at every time step, whatever the
    /// locations say (pyvene's collect does); false: only at the located steps.
    var actsOnEveryTimeStep: Bool { get }
    /// The new base block (same shape as `base`) with any auxiliary losses and side outputs.
    /// `subspaces[b]` lists the dimensions example b may change (nil: all).
    func apply(base: Tensor, source: Tensor?, subspaces: [[Int]]?) throws -> InterventionResult
    /// The same, passing every side output the output is computed from through `tap` before it
    /// is used (`z = tap("latents", z)`), so that attribution can read the gradient with respect
    /// to it (`SideOutputProbes`). The default ignores the tap: such an intervention's side
    /// outputs get no gradient.
    func apply(base: Tensor, source: Tensor?, subspaces: [[Int]]?, tap: SideOutputTap) throws -> InterventionResult
    /// The learned state to save, by name (e.g. "rotate_layer.weight" → R).
    func stateTensors() -> [String: Tensor]
    /// Restores state saved by `stateTensors`; throws naming a missing or mis-shaped tensor.
    func loadState(_ tensors: [String: Tensor]) throws
}

extension Intervention {
    public var namedParameters: [(name: String, parameter: Parameter)] { [] }
    public var hyperparameters: JSONObject { JSONObject() }
    public func stateTensors() -> [String: Tensor] { [:] }
    public func loadState(_ tensors: [String: Tensor]) throws {}
    public var actsOnEveryTimeStep: Bool { false }
    public func apply(base: Tensor, source: Tensor?, subspaces: [[Int]]?, tap: SideOutputTap) throws -> InterventionResult {
        try apply(base: base, source: source, subspaces: subspaces)
    }
    /// The named parameters' values: the whole state of interventions whose state is their
    /// parameters (use as `stateTensors()`).
    public func parameterState() -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: namedParameters.map { ($0.name, $0.parameter.value) })
    }

    /// Assigns every named parameter from `tensors`, checking names and shapes (use as `loadState`).
    public func loadParameterState(_ tensors: [String: Tensor]) throws {
        for (name, parameter) in namedParameters {
            parameter.assign(try stateTensor(tensors, name, shape: parameter.shape, intervention: typeName))
        }
    }

    /// True when some parameter is trainable.
    public var isTrainable: Bool { namedParameters.contains { $0.parameter.isTrainable } }
}

/// An intervention input that does not fit. Names the intervention, the field and what fits.
public enum InterventionError: Error, CustomStringConvertible, Equatable {
    case dimensionMismatch(intervention: String, field: String, expected: Int, actual: Int)
    case subspaceOutOfRange(intervention: String, example: Int, index: Int, width: Int)
    case missingSource(intervention: String)
    case invalidHyperparameter(type: String, field: String, value: String, allowed: String)
    case unknownType(String, known: [String])
    case invalidState(intervention: String, tensor: String, reason: String)
    /// A hyperparameter the type does not read (often a misspelling).
    case unknownHyperparameter(type: String, key: String, allowed: [String])
    /// The model never reached the site of an intervention that had to act in the pass.
    case siteNotReached(key: String, site: String)
    /// An intervention reported no side output of that name in the pass.
    case missingSideOutput(key: String, name: String, available: [String])
    /// An auxiliary loss that is not a scalar.
    case nonScalarAuxiliaryLoss(key: String, name: String, shape: [Int])

    public var description: String {
        switch self {
        case .dimensionMismatch(let i, let field, let expected, let actual):
            return "\(i): \(field) is \(actual) but the intervention needs \(expected)"
        case .subspaceOutOfRange(let i, let b, let index, let width):
            return "\(i): subspace index \(index) of example \(b) is outside 0..<\(width)"
        case .missingSource(let i): return "\(i) needs a source (give sources, a source_representation, or precomputed source activations)"
        case .invalidHyperparameter(let type, let field, let value, let allowed):
            return "\(type): hyperparameter '\(field)' has value \(value); allowed: \(allowed)"
        case .unknownType(let name, let known): return "unknown intervention type '\(name)'; known: \(known.joined(separator: ", "))"
        case .invalidState(let i, let tensor, let reason): return "\(i): tensor '\(tensor)' \(reason)"
        case .unknownHyperparameter(let type, let key, let allowed):
            return "\(type): unknown hyperparameter '\(key)'; allowed: \(allowed.joined(separator: ", "))"
        case .siteNotReached(let key, let site):
            return "\(key): the model never reached \(site) during the pass, so the intervention was not applied (check the layer and component against the model's forward)"
        case .missingSideOutput(let key, let name, let available):
            return "\(key): no side output '\(name)' in this pass; available: \(available.isEmpty ? "none" : available.joined(separator: ", "))"
        case .nonScalarAuxiliaryLoss(let key, let name, let shape):
            return "\(key): auxiliary loss '\(name)' has shape \(shape); auxiliary losses must be scalars"
        }
    }
}

/// Masks selecting the dimensions each example may change.
public enum SubspaceMask {
    /// A (B, 1, …, 1, d) mask of ones on `subspaces[b]` (and below `limit` when no subspace is
    /// given), or nil when every dimension is selected.
    public static func make(blockShape: [Int], subspaces: [[Int]]?, limit: Int?, intervention: String) throws -> Tensor? {
        let batch = blockShape[0], width = blockShape[blockShape.count - 1]
        if subspaces == nil && (limit == nil || limit! >= width) { return nil }
        var values = [Float](repeating: 0, count: batch * width)
        for b in 0..<batch {
            if let subspaces {
                guard b < subspaces.count else {
                    throw InterventionError.dimensionMismatch(intervention: intervention, field: "subspaces rows", expected: batch, actual: subspaces.count)
                }
                for i in subspaces[b] {
                    guard i >= 0 && i < width else {
                        throw InterventionError.subspaceOutOfRange(intervention: intervention, example: b, index: i, width: width)
                    }
                    values[b * width + i] = 1
                }
            } else {
                for i in 0..<Swift.min(limit!, width) { values[b * width + i] = 1 }
            }
        }
        var shape = [Int](repeating: 1, count: blockShape.count)
        shape[0] = batch
        shape[shape.count - 1] = width
        return Tensor(shape: shape, values: values)
    }

    /// (1 − m) ⊙ a + m ⊙ b, or b (broadcast to a's shape) when m is nil.
    public static func blend(_ a: Tensor, _ b: Tensor, mask: Tensor?) -> Tensor {
        guard let mask else { return b.shape == a.shape ? b : b.broadcast(to: a.shape).contiguous() }
        return a * (1 - mask) + b * mask
    }
}

/// Reads an optional integer hyperparameter.
func intHyperparameter(_ h: JSONObject, _ key: String, type: String) throws -> Int? {
    guard let v = h[key], !v.isNull else { return nil }
    guard let i = v.intValue, i > 0 else {
        throw InterventionError.invalidHyperparameter(type: type, field: key, value: v.serialized(), allowed: "a positive integer")
    }
    return i
}

/// Reads an optional number hyperparameter.
func floatHyperparameter(_ h: JSONObject, _ key: String, type: String) throws -> Float? {
    guard let v = h[key], !v.isNull else { return nil }
    guard let d = v.doubleValue, d.isFinite else {
        throw InterventionError.invalidHyperparameter(type: type, field: key, value: v.serialized(), allowed: "a finite number")
    }
    return Float(d)
}

/// Fetches an optional saved scalar (shape [] or [1]) that must be positive and finite, such as
/// a temperature; nil when it was not saved.
func stateScalar(_ tensors: [String: Tensor], _ name: String, intervention: String) throws -> Float? {
    guard let t = tensors[name] else { return nil }
    guard t.shape == [] || t.shape == [1] else {
        throw InterventionError.invalidState(intervention: intervention, tensor: name, reason: "has shape \(t.shape), expected [] (a scalar) or [1]")
    }
    let value = t.scalars[0]
    guard value.isFinite, value > 0 else {
        throw InterventionError.invalidState(intervention: intervention, tensor: name, reason: "has value \(value), expected a positive finite number")
    }
    return value
}

/// Fetches a saved tensor of the expected shape.
func stateTensor(_ tensors: [String: Tensor], _ name: String, shape: [Int], intervention: String) throws -> Tensor {
    guard let t = tensors[name] else { throw InterventionError.invalidState(intervention: intervention, tensor: name, reason: "is missing") }
    guard t.shape == shape else {
        throw InterventionError.invalidState(intervention: intervention, tensor: name, reason: "has shape \(t.shape), expected \(shape)")
    }
    return t
}
