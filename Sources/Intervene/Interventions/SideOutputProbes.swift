import Tensors

/// Gradient probes on interventions' side outputs (an SAE's latents, say), for attribution.
///
/// Give a `SideOutputProbes` to `IntervenableModel.forward(…, sideOutputProbes:)`; every
/// intervention that computes its output from a side output passes that tensor through its
/// `SideOutputTap` before using it. The tap adds a zero leaf that requires a gradient, so values
/// are unchanged; after `backward()` on an objective of the pass, `collect()` returns each tapped
/// side output with the objective's gradient with respect to it:
///
///     out = f(z)  becomes  out = f(z + p), p = 0;   ∂objective/∂z = ∂objective/∂p
///
/// Interventions that do not tap (the default `apply(base:source:subspaces:tap:)`) report nothing.
public final class SideOutputProbes {
    /// The side-output names to probe (nil: every name an intervention taps).
    public let names: Set<String>?
    private var probes: [String: [String: [(value: Tensor, probe: Parameter)]]] = [:]

    public init(names: Set<String>? = nil) {
        self.names = names
    }

    /// `value` plus a zero probe when `name` is wanted (gradients on), else `value` itself.
    func probe(key: String, name: String, _ value: Tensor) -> Tensor {
        guard GradientMode.enabled, names?.contains(name) ?? true else { return value }
        let probe = Parameter(Tensor.zeros(value.shape), trainable: true)
        probes[key, default: [:]][name, default: []].append((value.detached(), probe))
        return value + probe.value
    }

    /// Per intervention key, per side-output name: the value and the objective's gradient with
    /// respect to it (zeros where the objective does not depend on it). Several applications in
    /// one call (a recurrent site's steps, serial passes) are concatenated along the first axis
    /// in application order.
    public func collect() -> [String: [String: (value: Tensor, gradient: Tensor)]] {
        probes.mapValues { byName in
            byName.mapValues { list in
                let values = list.map(\.value), gradients = list.map { $0.probe.grad ?? Tensor.zeros($0.probe.shape) }
                return list.count == 1 ? (values[0], gradients[0])
                    : (Tensor.concatenate(values, axis: 0), Tensor.concatenate(gradients, axis: 0))
            }
        }
    }
}

/// What an intervention calls on a side output it computes its output from: `tap("latents", z)`
/// returns z (plus a zero gradient probe when the pass carries `SideOutputProbes`).
public struct SideOutputTap {
    let probes: SideOutputProbes?
    let key: String

    /// A tap that changes nothing (no probes).
    public static var none: SideOutputTap { SideOutputTap(probes: nil, key: "") }

    /// A tap recording into `probes` under intervention key `key`.
    public init(probes: SideOutputProbes?, key: String) {
        self.probes = probes
        self.key = key
    }

    /// True when this tap records (an intervention may then skip shortcuts that bypass the
    /// tapped value, such as returning the base unchanged when nothing is edited).
    public var isActive: Bool { probes != nil && GradientMode.enabled }

    /// `value`, with a probe added when the pass asks for gradients on side output `name`.
    public func callAsFunction(_ name: String, _ value: Tensor) -> Tensor {
        probes?.probe(key: key, name: name, value) ?? value
    }
}
