import Models
import Tensors

/// Everything one intervened forward call knows about one intervention and what it produced,
/// kept together: locations, subspaces, the source it reads, and the side outputs and
/// auxiliary losses of its applications.
struct InterventionState {
    /// Where the source is read (nil: the whole activation).
    var readLocations: [UnitLocation]?
    /// Where the base is written (nil: the whole activation).
    var writeLocations: [UnitLocation]?
    /// Per example: resolved subspace dimensions (nil: all).
    var subspaces: [[Int]]?
    /// The source block: read by a getter, given as a precomputed activation, or the module input
    /// recorded for a skip (non-recurrent sites).
    var sourceBlock: Tensor?
    /// Recurrent sites (unit "t"): source rows by example, then unit.
    var sourceRows: [Int: [Int: Tensor]] = [:]
    /// Side outputs of every application in the call, by name, in application order.
    var sideOutputs: [String: [Tensor]] = [:]
    /// Auxiliary losses of every application in the call, by name, in application order.
    var auxiliaryLosses: [String: [Tensor]] = [:]

    /// Keeps the side outputs and auxiliary losses of one application; throws on a loss that is
    /// not a scalar.
    mutating func record(_ result: InterventionResult, key: String) throws {
        for (name, loss) in result.auxiliaryLosses {
            guard loss.count == 1 else { throw InterventionError.nonScalarAuxiliaryLoss(key: key, name: name, shape: loss.shape) }
            auxiliaryLosses[name, default: []].append(loss.rank == 0 ? loss : loss.reshaped([]))
        }
        for (name, value) in result.sideOutputs { sideOutputs[name, default: []].append(value.detachedIfNoGrad()) }
    }

    /// One tensor per side output: a single application's as is; several (a recurrent site's
    /// time steps) stacked along a new leading axis (S, …) when their shapes agree, else
    /// concatenated along the first axis in application order.
    var combinedSideOutputs: [String: Tensor] {
        sideOutputs.mapValues { list in
            if list.count == 1 { return list[0] }
            return list.allSatisfy { $0.shape == list[0].shape } ? Tensor.stack(list, axis: 0) : Tensor.concatenate(list, axis: 0)
        }
    }

    /// One scalar per auxiliary loss: the mean over the applications in the call, so an
    /// intervention contributes each loss once per forward call however many steps it acts on.
    var combinedAuxiliaryLosses: [String: Tensor] {
        auxiliaryLosses.mapValues(Self.mean)
    }

    /// The mean of scalars (the one scalar itself when there is one).
    static func mean(_ list: [Tensor]) -> Tensor {
        list.count == 1 ? list[0] : list.dropFirst().reduce(list[0], +) * (1 / Float(list.count))
    }
}

/// The state of one intervened forward call: one `InterventionState` per representation,
/// shared by every model pass of the call (source passes, serial passes, the base pass).
final class InterventionPass {
    var states: [InterventionState]
    /// Gradient probes on side outputs, when the caller asked for them.
    var sideOutputProbes: SideOutputProbes?

    init(states: [InterventionState]) {
        self.states = states
    }
}

extension Tensor {
    /// Detached when gradients are off (side outputs never keep a graph alive then).
    func detachedIfNoGrad() -> Tensor { GradientMode.enabled ? self : detached() }
}
