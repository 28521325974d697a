import Models
import Tensors

/// Activation addition with a stored steering vector (Turner et al. 2023, "ActAdd"):
///
///     out[b, u, :] = base[b, u, :] + c · m ⊙ V[u, :]     when V has one row per located unit
///     out[b, u, :] = base[b, u, :] + c · m ⊙ V[0, :]     when V has a single row
///
/// with V the (n, d) steering vector (row i for the i-th located position), c the coefficient
/// and m the optional subspace mask. Block (B, u, d) → same shape. Needs no source: V is state,
/// saved in a bundle's weights as "steering_vector"; the coefficient, n, d and the placement
/// are hyperparameters, so a saved steering bundle loads and applies like any other.
///
/// `placement` records where the vector was meant to act; `SteeringIntervention.Placement`
/// explains both choices. The intervention itself adds at whatever units it is given; callers
/// (`intervene generate --bundle`, `SteeringVector.generate`) read the placement to choose the
/// unit locations and the generation timing.
public final class SteeringIntervention: Intervention {
    /// Where a steering vector acts during generation.
    public enum Placement: String, Sendable, CaseIterable {
        /// The paper's choice: row i is added at prompt position i (i < n) on the prompt's
        /// forward pass only; generated tokens see the change through the key/value cache.
        case prompt
        /// A single-row vector added at every prompt position and at every generated token.
        case allPositions = "all_positions"
    }

    public let typeName = "SteeringIntervention"
    public let embedDimension: Int? = nil
    public let form = BlockForm.units
    public let sourceRequirement = SourceRequirement.none
    /// V, shape (positions, width).
    public private(set) var vector: Tensor
    /// c.
    public let coefficient: Float
    /// Where the vector is meant to act.
    public let placement: Placement

    /// A steering intervention adding `coefficient` · `vector` (shape (n, d)); throws
    /// `InterventionError.invalidHyperparameter` for a coefficient that is not finite, a vector
    /// that is not rank 2 or holds a non-finite value, or several rows with `.allPositions`.
    public init(vector: Tensor, coefficient: Float, placement: Placement = .prompt) throws {
        guard coefficient.isFinite else {
            throw InterventionError.invalidHyperparameter(type: "SteeringIntervention", field: "coefficient", value: "\(coefficient)", allowed: "a finite number")
        }
        try Self.check(vector, placement: placement)
        self.vector = vector.contiguous()
        self.coefficient = coefficient
        self.placement = placement
    }

    static func check(_ vector: Tensor, placement: Placement) throws {
        guard vector.rank == 2, vector.shape[0] >= 1, vector.shape[1] >= 1 else {
            throw InterventionError.invalidHyperparameter(type: "SteeringIntervention", field: "steering_vector", value: "shape \(vector.shape)",
                                                          allowed: "a (positions, width) matrix with positions ≥ 1 and width ≥ 1")
        }
        guard placement == .prompt || vector.shape[0] == 1 else {
            throw InterventionError.invalidHyperparameter(type: "SteeringIntervention", field: "placement", value: placement.rawValue,
                                                          allowed: "\"prompt\" for a vector of \(vector.shape[0]) positions (\"all_positions\" takes one row)")
        }
        guard vector.scalars.allSatisfy(\.isFinite) else {
            throw InterventionError.invalidHyperparameter(type: "SteeringIntervention", field: "steering_vector", value: "a non-finite value",
                                                          allowed: "finite numbers")
        }
    }

    /// Number of rows n of V.
    public var positions: Int { vector.shape[0] }
    /// Width d of V.
    public var width: Int { vector.shape[1] }

    public var hyperparameters: JSONObject {
        JSONObject([("coefficient", .double(Double(coefficient))), ("positions", .int(positions)), ("width", .int(width)),
                    ("placement", .string(placement.rawValue))])
    }

    public func stateTensors() -> [String: Tensor] { ["steering_vector": vector] }

    public func loadState(_ tensors: [String: Tensor]) throws {
        let loaded = try stateTensor(tensors, "steering_vector", shape: vector.shape, intervention: typeName)
        do { try Self.check(loaded, placement: placement) } catch {
            throw InterventionError.invalidState(intervention: typeName, tensor: "steering_vector", reason: "\(error)")
        }
        vector = loaded.contiguous()
    }

    public func apply(base: Tensor, source: Tensor?, subspaces: [[Int]]?) throws -> InterventionResult {
        guard base.rank == 3 else {
            throw InterventionError.dimensionMismatch(intervention: typeName, field: "block rank", expected: 3, actual: base.rank)
        }
        let units = base.shape[1], d = base.shape[2]
        guard d == width else { throw InterventionError.dimensionMismatch(intervention: typeName, field: "block width", expected: width, actual: d) }
        guard positions == 1 || positions == units else {
            throw InterventionError.dimensionMismatch(intervention: typeName, field: "located positions", expected: positions, actual: units)
        }
        let delta = (vector * coefficient).reshaped([1, positions, width])
        let mask = try SubspaceMask.make(blockShape: base.shape, subspaces: subspaces, limit: nil, intervention: typeName)
        guard let mask else { return InterventionResult(base + delta) }
        return InterventionResult(base + delta * mask)
    }

    /// Builds the intervention a bundle describes: a zero (positions, width) vector whose values
    /// `loadState` fills.
    static func make(_ context: InterventionContext) throws -> SteeringIntervention {
        let h = context.hyperparameters, type = "SteeringIntervention"
        guard let c = try floatHyperparameter(h, "coefficient", type: type) else {
            throw InterventionError.invalidHyperparameter(type: type, field: "coefficient", value: "missing", allowed: "a finite number")
        }
        let positions = try intHyperparameter(h, "positions", type: type) ?? 1
        let width = try intHyperparameter(h, "width", type: type) ?? context.embedDimension / context.representation.maxNumberOfUnits
        let placementText = h["placement"]?.stringValue ?? Placement.prompt.rawValue
        guard let placement = Placement(rawValue: placementText) else {
            throw InterventionError.invalidHyperparameter(type: type, field: "placement", value: "\"\(placementText)\"",
                                                          allowed: Placement.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: " or "))
        }
        return try SteeringIntervention(vector: Tensor.zeros([positions, width]), coefficient: c, placement: placement)
    }
}

extension InterventionType {
    /// `SteeringIntervention`: adds a stored steering vector times a coefficient (ActAdd).
    public static let steering = InterventionType(canonical: "SteeringIntervention")
}

extension InterventionRegistry {
    func registerSteering() {
        register(.steering, aliases: ["steering", "actadd"], hyperparameters: ["coefficient", "positions", "width", "placement"]) { c in
            try SteeringIntervention.make(c)
        }
    }
}
