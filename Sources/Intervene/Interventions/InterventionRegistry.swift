import Foundation
import Synchronization
import Models
import Tensors

/// What a factory knows when it builds an intervention for a representation.
public struct InterventionContext: Sendable {
    /// Per-unit dimension of the site × max_number_of_units (pyvene's embed_dim).
    public let embedDimension: Int
    /// The representation being built.
    public let representation: RepresentationConfig
    /// Constructor arguments (hyperparameters) given in the config or a bundle.
    public let hyperparameters: JSONObject
    /// Seed for random initialisation.
    public let seed: UInt64
}

/// Builds interventions from type names, so configs and bundles can name them. Accepts
/// pyvene's class names ("VanillaIntervention") and short aliases ("vanilla").
public final class InterventionRegistry: Sendable {
    /// The registry IntervenableModel uses.
    public static let shared = InterventionRegistry()

    public typealias Factory = @Sendable (InterventionContext) throws -> any Intervention
    private let factories = Mutex<[String: Factory]>([:])

    init() {
        register("VanillaIntervention", aliases: ["vanilla", "interchange"]) { c in
            VanillaIntervention(embedDimension: nil, interchangeDimension: try intHyperparameter(c.hyperparameters, "interchange_dim", type: "VanillaIntervention"))
        }
        register("AdditionIntervention", aliases: ["addition", "add"]) { c in
            AdditionIntervention(interchangeDimension: try intHyperparameter(c.hyperparameters, "interchange_dim", type: "AdditionIntervention"))
        }
        register("SubtractionIntervention", aliases: ["subtraction", "subtract"]) { c in
            SubtractionIntervention(interchangeDimension: try intHyperparameter(c.hyperparameters, "interchange_dim", type: "SubtractionIntervention"))
        }
        register("ZeroIntervention", aliases: ["zero"]) { c in
            ZeroIntervention(interchangeDimension: try intHyperparameter(c.hyperparameters, "interchange_dim", type: "ZeroIntervention"))
        }
        register("CollectIntervention", aliases: ["collect"]) { c in
            CollectIntervention(interchangeDimension: try intHyperparameter(c.hyperparameters, "interchange_dim", type: "CollectIntervention"))
        }
        register("SkipIntervention", aliases: ["skip"]) { c in
            SkipIntervention(interchangeDimension: try intHyperparameter(c.hyperparameters, "interchange_dim", type: "SkipIntervention"))
        }
        register("NoiseIntervention", aliases: ["noise"]) { c in
            let h = c.hyperparameters
            let seed = h["seed"]?.intValue.map { UInt64(truncatingIfNeeded: $0) } ?? 1
            return NoiseIntervention(noiseLevel: try floatHyperparameter(h, "noise_level", type: "NoiseIntervention") ?? 0.13462981581687927,
                                     seed: seed, interchangeDimension: try intHyperparameter(h, "interchange_dim", type: "NoiseIntervention"))
        }
        register("ConstantSourceIntervention", aliases: ["constant_source"]) { c in
            guard let values = c.hyperparameters["vector"]?.arrayValue?.compactMap(\.doubleValue), !values.isEmpty else {
                throw InterventionError.invalidHyperparameter(type: "ConstantSourceIntervention", field: "vector", value: c.hyperparameters["vector"]?.serialized() ?? "missing",
                                                              allowed: "a non-empty list of numbers")
            }
            return ConstantSourceIntervention(vector: Tensor(values.map { Float($0) }),
                                              interchangeDimension: try intHyperparameter(c.hyperparameters, "interchange_dim", type: "ConstantSourceIntervention"))
        }
        registerTrainable()
    }

    /// Adds a type (and aliases) to the registry, replacing any with the same name.
    public func register(_ name: String, aliases: [String] = [], factory: @escaping Factory) {
        factories.withLock { table in
            table[name] = factory
            for a in aliases { table[a] = factory }
        }
    }

    /// Registered names, sorted.
    public var typeNames: [String] { factories.withLock { $0.keys.sorted() } }

    /// Builds an intervention of type `name`.
    public func make(_ name: String, context: InterventionContext) throws -> any Intervention {
        let factory = factories.withLock { $0[name] }
        guard let factory else { throw InterventionError.unknownType(name, known: typeNames.filter { $0.hasSuffix("Intervention") }) }
        return try factory(context)
    }
}
