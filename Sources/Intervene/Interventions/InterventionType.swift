/// The type of an intervention, as a value: `.vanilla`, `.rotatedSpace`, … On the wire (configs,
/// bundles, the CLI) it is pyvene's class-name string ("VanillaIntervention"); aliases such as
/// "vanilla" or "das" are accepted and resolve to the class name.
///
/// Types of your own: register a factory under a name and give it a static member.
///
/// ```swift
/// extension InterventionType { static let scaling = InterventionType("ScalingIntervention") }
/// InterventionRegistry.shared.register(.scaling, aliases: ["scaling"]) { _ in ScalingIntervention() }
/// let config = IntervenableConfig(RepresentationConfig(layer: 0, component: .blockOutput), interventionType: .scaling)
/// ```
public struct InterventionType: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The wire name (pyvene's class name for built-in types).
    public let name: String

    /// The type named `name`; an alias registered in `InterventionRegistry.shared` ("vanilla")
    /// resolves to its type's name ("VanillaIntervention"). Unknown names are kept as given and
    /// rejected when a model is built from them.
    public init(_ name: String) {
        self.name = InterventionRegistry.shared.canonicalName(name) ?? name
    }

    /// A type whose name is already canonical (does not consult the registry).
    init(canonical name: String) {
        self.name = name
    }

    public var description: String { name }

    /// Decodes the wire string (a class name or an alias).
    public init(from decoder: Decoder) throws {
        self.init(try decoder.singleValueContainer().decode(String.self))
    }

    /// Encodes the wire string.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(name)
    }
}

extension InterventionType {
    /// `VanillaIntervention`: interchange of the selected subspace.
    public static let vanilla = InterventionType(canonical: "VanillaIntervention")
    /// `AdditionIntervention`: adds the source.
    public static let addition = InterventionType(canonical: "AdditionIntervention")
    /// `SubtractionIntervention`: subtracts the source.
    public static let subtraction = InterventionType(canonical: "SubtractionIntervention")
    /// `ZeroIntervention`: zero ablation.
    public static let zero = InterventionType(canonical: "ZeroIntervention")
    /// `CollectIntervention`: reports the block as side output "collected".
    public static let collect = InterventionType(canonical: "CollectIntervention")
    /// `SkipIntervention`: replaces a component's output with its input.
    public static let skip = InterventionType(canonical: "SkipIntervention")
    /// `NoiseIntervention`: adds seeded Gaussian noise.
    public static let noise = InterventionType(canonical: "NoiseIntervention")
    /// `ConstantSourceIntervention`: interchange with a fixed vector.
    public static let constantSource = InterventionType(canonical: "ConstantSourceIntervention")
    /// `RotatedSpaceIntervention`: distributed alignment search (DAS).
    public static let rotatedSpace = InterventionType(canonical: "RotatedSpaceIntervention")
    /// `LowRankRotatedSpaceIntervention`: DAS along k learned directions.
    public static let lowRankRotatedSpace = InterventionType(canonical: "LowRankRotatedSpaceIntervention")
    /// `BoundlessRotatedSpaceIntervention`: Boundless DAS (learned boundary).
    public static let boundlessRotatedSpace = InterventionType(canonical: "BoundlessRotatedSpaceIntervention")
    /// `SigmoidMaskRotatedSpaceIntervention`: a learned gate per rotated dimension.
    public static let sigmoidMaskRotatedSpace = InterventionType(canonical: "SigmoidMaskRotatedSpaceIntervention")
    /// `SigmoidMaskIntervention`: a learned gate per dimension, no rotation.
    public static let sigmoidMask = InterventionType(canonical: "SigmoidMaskIntervention")
    /// `PCARotatedSpaceIntervention`: interchange among principal components.
    public static let pcaRotatedSpace = InterventionType(canonical: "PCARotatedSpaceIntervention")
    /// `AutoencoderIntervention`: pyvene's ReLU sparse autoencoder, latents interchanged.
    public static let autoencoder = InterventionType(canonical: "AutoencoderIntervention")
    /// `JumpReLUAutoencoderIntervention`: pyvene's JumpReLU sparse autoencoder (Gemma Scope).
    public static let jumpReLUAutoencoder = InterventionType(canonical: "JumpReLUAutoencoderIntervention")
}
