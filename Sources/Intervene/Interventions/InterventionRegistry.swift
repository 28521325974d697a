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

/// Builds interventions from their types, so configs and bundles can name them. Accepts
/// pyvene's class names ("VanillaIntervention") and short aliases ("vanilla"); open for types
/// registered by users.
public final class InterventionRegistry: Sendable {
    /// The registry IntervenableModel uses.
    public static let shared = InterventionRegistry()

    /// Builds an intervention for a representation.
    public typealias Factory = @Sendable (InterventionContext) throws -> any Intervention
    /// Factories by wire name and alias, and the type name each alias stands for.
    private let table = Mutex<(factories: [String: Factory], canonical: [String: String])>(([:], [:]))

    init() {
        register(.vanilla, aliases: ["vanilla", "interchange"]) { c in
            VanillaIntervention(embedDimension: nil, interchangeDimension: try intHyperparameter(c.hyperparameters, "interchange_dim", type: "VanillaIntervention"))
        }
        register(.addition, aliases: ["addition", "add"]) { c in
            AdditionIntervention(interchangeDimension: try intHyperparameter(c.hyperparameters, "interchange_dim", type: "AdditionIntervention"))
        }
        register(.subtraction, aliases: ["subtraction", "subtract"]) { c in
            SubtractionIntervention(interchangeDimension: try intHyperparameter(c.hyperparameters, "interchange_dim", type: "SubtractionIntervention"))
        }
        register(.zero, aliases: ["zero"]) { c in
            ZeroIntervention(interchangeDimension: try intHyperparameter(c.hyperparameters, "interchange_dim", type: "ZeroIntervention"))
        }
        register(.collect, aliases: ["collect"]) { c in
            CollectIntervention(interchangeDimension: try intHyperparameter(c.hyperparameters, "interchange_dim", type: "CollectIntervention"))
        }
        register(.skip, aliases: ["skip"]) { c in
            SkipIntervention(interchangeDimension: try intHyperparameter(c.hyperparameters, "interchange_dim", type: "SkipIntervention"))
        }
        register(.noise, aliases: ["noise"]) { c in
            let h = c.hyperparameters
            let seed = h["seed"]?.intValue.map { UInt64(truncatingIfNeeded: $0) } ?? 1
            return NoiseIntervention(noiseLevel: try floatHyperparameter(h, "noise_level", type: "NoiseIntervention") ?? 0.13462981581687927,
                                     seed: seed, interchangeDimension: try intHyperparameter(h, "interchange_dim", type: "NoiseIntervention"))
        }
        register(.constantSource, aliases: ["constant_source"]) { c in
            guard let values = c.hyperparameters["vector"]?.arrayValue?.compactMap(\.doubleValue), !values.isEmpty else {
                throw InterventionError.invalidHyperparameter(type: "ConstantSourceIntervention", field: "vector", value: c.hyperparameters["vector"]?.serialized() ?? "missing",
                                                              allowed: "a non-empty list of numbers")
            }
            return ConstantSourceIntervention(vector: Tensor(values.map { Float($0) }),
                                              interchangeDimension: try intHyperparameter(c.hyperparameters, "interchange_dim", type: "ConstantSourceIntervention"))
        }
        registerTrainable()
    }

    /// Adds a type (and wire aliases for it) to the registry, replacing any with the same name.
    public func register(_ type: InterventionType, aliases: [String] = [], factory: @escaping Factory) {
        table.withLock { table in
            for name in [type.name] + aliases {
                table.factories[name] = factory
                table.canonical[name] = type.name
            }
        }
    }

    /// Registered names and aliases, sorted.
    public var typeNames: [String] { table.withLock { $0.factories.keys.sorted() } }

    /// The type name `name` stands for (itself for a type name), or nil when not registered.
    public func canonicalName(_ name: String) -> String? { table.withLock { $0.canonical[name] } }

    /// Builds an intervention of `type` (its name or a registered alias).
    public func make(_ type: InterventionType, context: InterventionContext) throws -> any Intervention {
        let factory = table.withLock { $0.factories[type.name] }
        guard let factory else {
            let known = table.withLock { Set($0.canonical.values) }.sorted()
            throw InterventionError.unknownType(type.name, known: known)
        }
        return try factory(context)
    }
}
