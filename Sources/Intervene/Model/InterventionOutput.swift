import Models
import Tensors

/// What an intervened forward pass returns: the intervened output, the original one when
/// asked, and what each intervention reported, keyed by intervention key
/// (`IntervenableModel.keys`, e.g. "layer_0_comp_block_output_unit_pos_nunit_1#0").
///
/// ```swift
/// let out = try intervenable.forward(base: .tokens(ids), unitLocations: .base(all))
/// let block = out.sideOutputs[intervenable.keys[0]]?["collected"]   // or: try out.collected(0)
/// ```
public struct InterventionOutput {
    /// The base run without interventions (only when asked: it costs one more forward pass).
    public var original: ModelOutput?
    /// The base run with interventions.
    public var intervened: ModelOutput
    /// Side outputs per intervention key, by name (e.g. "collected"). An intervention that acts
    /// at several time steps of a recurrent site reports them stacked as (S, …).
    public var sideOutputs: [String: [String: Tensor]]
    /// Auxiliary losses per intervention key, by name: scalars in the autodiff graph, each the
    /// mean over the intervention's applications in the call.
    public var auxiliaryLosses: [String: [String: Tensor]]
    /// The intervention keys in representation order.
    public var keys: [String]

    /// An output with what each intervention reported.
    public init(original: ModelOutput? = nil, intervened: ModelOutput, sideOutputs: [String: [String: Tensor]] = [:],
                auxiliaryLosses: [String: [String: Tensor]] = [:], keys: [String] = []) {
        self.original = original
        self.intervened = intervened
        self.sideOutputs = sideOutputs
        self.auxiliaryLosses = auxiliaryLosses
        self.keys = keys
    }

    /// Side output `name` of representation `representation`; throws when the index is out of
    /// range or the intervention reported no such output.
    public func sideOutput(_ name: String, representation: Int) throws -> Tensor {
        guard keys.indices.contains(representation) else {
            throw ConfigurationError.invalidField(field: "representation", value: "\(representation)", allowed: "0..<\(keys.count)")
        }
        let key = keys[representation]
        guard let value = sideOutputs[key]?[name] else {
            throw InterventionError.missingSideOutput(key: key, name: name, available: (sideOutputs[key] ?? [:]).keys.sorted())
        }
        return value
    }

    /// The activations a `CollectIntervention` at representation `representation` collected:
    /// (B, units…, d), or (S, B, d) at a recurrent site.
    public func collected(_ representation: Int) throws -> Tensor {
        try sideOutput(CollectIntervention.sideOutputName, representation: representation)
    }
}
