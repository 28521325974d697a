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
    /// A factory, the type name it builds and the hyperparameter names it reads (nil: any).
    struct Entry: Sendable {
        let factory: Factory
        let typeName: String
        let hyperparameters: [String]?
    }
    /// Entries by wire name and alias.
    private let table = Mutex<[String: Entry]>([:])
    /// The hyperparameter of the localist interventions.
    static let localist = ["interchange_dim"]

    init() {
        register(.vanilla, aliases: ["vanilla", "interchange"], hyperparameters: Self.localist) { c in
            VanillaIntervention(embedDimension: nil, interchangeDimension: try intHyperparameter(c.hyperparameters, "interchange_dim", type: "VanillaIntervention"))
        }
        register(.addition, aliases: ["addition", "add"], hyperparameters: Self.localist) { c in
            AdditionIntervention(interchangeDimension: try intHyperparameter(c.hyperparameters, "interchange_dim", type: "AdditionIntervention"))
        }
        register(.subtraction, aliases: ["subtraction", "subtract"], hyperparameters: Self.localist) { c in
            SubtractionIntervention(interchangeDimension: try intHyperparameter(c.hyperparameters, "interchange_dim", type: "SubtractionIntervention"))
        }
        register(.zero, aliases: ["zero"], hyperparameters: Self.localist) { c in
            ZeroIntervention(interchangeDimension: try intHyperparameter(c.hyperparameters, "interchange_dim", type: "ZeroIntervention"))
        }
        register(.collect, aliases: ["collect"], hyperparameters: Self.localist) { c in
            CollectIntervention(interchangeDimension: try intHyperparameter(c.hyperparameters, "interchange_dim", type: "CollectIntervention"))
        }
        register(.skip, aliases: ["skip"], hyperparameters: Self.localist) { c in
            SkipIntervention(interchangeDimension: try intHyperparameter(c.hyperparameters, "interchange_dim", type: "SkipIntervention"))
        }
        register(.noise, aliases: ["noise"], hyperparameters: Self.localist + ["noise_level", "seed"]) { c in
            let h = c.hyperparameters
            let seed = h["seed"]?.intValue.map { UInt64(truncatingIfNeeded: $0) } ?? 1
            return NoiseIntervention(noiseLevel: try floatHyperparameter(h, "noise_level", type: "NoiseIntervention") ?? 0.13462981581687927,
                                     seed: seed, interchangeDimension: try intHyperparameter(h, "interchange_dim", type: "NoiseIntervention"))
        }
        register(.constantSource, aliases: ["constant_source"], hyperparameters: Self.localist + ["vector"]) { c in
            guard let values = c.hyperparameters["vector"]?.arrayValue?.compactMap(\.doubleValue), !values.isEmpty else {
                throw InterventionError.invalidHyperparameter(type: "ConstantSourceIntervention", field: "vector", value: c.hyperparameters["vector"]?.serialized() ?? "missing",
                                                              allowed: "a non-empty list of numbers")
            }
            return ConstantSourceIntervention(vector: Tensor(values.map { Float($0) }),
                                              interchangeDimension: try intHyperparameter(c.hyperparameters, "interchange_dim", type: "ConstantSourceIntervention"))
        }
        registerTrainable()
        registerAutoencoders()
        registerSteering()
    }

    /// Adds a type (and wire aliases for it) to the registry, replacing any with the same name.
    /// With `hyperparameters`, `make` rejects other names (besides "embed_dim", which must equal
    /// the context's embed dimension) instead of silently ignoring a misspelled one.
    public func register(_ type: InterventionType, aliases: [String] = [], hyperparameters: [String]? = nil,
                         factory: @escaping Factory) {
        let entry = Entry(factory: factory, typeName: type.name, hyperparameters: hyperparameters)
        table.withLock { table in
            for name in [type.name] + aliases { table[name] = entry }
        }
    }

    /// Registered names and aliases, sorted.
    public var typeNames: [String] { table.withLock { $0.keys.sorted() } }

    /// The type name `name` stands for (itself for a type name), or nil when not registered.
    public func canonicalName(_ name: String) -> String? { table.withLock { $0[name]?.typeName } }

    /// Builds an intervention of `type` (its name or a registered alias); throws
    /// `InterventionError` for an unknown type, an unknown hyperparameter or an `embed_dim` that
    /// is not the context's.
    public func make(_ type: InterventionType, context: InterventionContext) throws -> any Intervention {
        let entry = table.withLock { $0[type.name] }
        guard let entry else {
            let known = table.withLock { Set($0.values.map(\.typeName)) }.sorted()
            throw InterventionError.unknownType(type.name, known: known)
        }
        if let declared = entry.hyperparameters {
            let allowed = (declared + ["embed_dim"]).sorted()
            if let unknown = context.hyperparameters.keys.sorted().first(where: { !allowed.contains($0) }) {
                throw InterventionError.unknownHyperparameter(type: entry.typeName, key: unknown, allowed: allowed)
            }
        }
        if let e = context.hyperparameters["embed_dim"], !e.isNull, e.intValue != context.embedDimension {
            throw InterventionError.invalidHyperparameter(type: entry.typeName, field: "embed_dim", value: e.serialized(),
                                                          allowed: "\(context.embedDimension) (the site's unit dimension × max_number_of_units)")
        }
        return try entry.factory(context)
    }
}
