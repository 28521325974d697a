import Tensors

/// Several hook objects in one pass: each tap visits them in order, each seeing the activation
/// the previous one left. The pass may stop early only when every member allows it.
public final class HookChain: ActivationHooks {
    public let members: [any ActivationHooks]
    /// The members whose `canStop` decides whether the pass may stop early (all of them by
    /// default; none of them — never stop — when empty).
    let stopDeciders: [any ActivationHooks]

    public init(_ members: [any ActivationHooks]) {
        self.members = members
        stopDeciders = members
    }

    /// A chain in which only `stopDeciders` decide whether the pass may stop early (inserted
    /// layers, say, take no part in that decision).
    public init(_ members: [any ActivationHooks], stopDeciders: [any ActivationHooks]) {
        self.members = members
        self.stopDeciders = stopDeciders
    }

    public func isActive(_ point: TapPoint) -> Bool { members.contains { $0.isActive(point) } }

    public func visit(_ point: TapPoint, step: Int?, _ activation: inout Tensor) throws {
        for member in members where member.isActive(point) { try member.visit(point, step: step, &activation) }
    }

    public func canStop(afterLayer layer: Int) -> Bool {
        !stopDeciders.isEmpty && stopDeciders.allSatisfy { $0.canStop(afterLayer: layer) }
    }
}

extension ForwardOptions {
    /// These options with `extra` hooks run after the ones already set.
    public func addingHooks(_ extra: any ActivationHooks) -> ForwardOptions {
        var copy = self
        copy.hooks = hooks.map { HookChain([$0, extra]) } ?? extra
        return copy
    }
}
