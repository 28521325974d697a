import Tensors

/// The point in a forward pass where a model hands an activation to hooks: a tapped component
/// at a layer, and for recurrent cells the time step.
public struct TapPoint: Hashable, Sendable {
    public let layer: Int
    public let tap: Component
    public init(layer: Int, tap: Component) {
        self.layer = layer
        self.tap = tap
    }
}

/// Receives activations during a forward pass and may replace them.
///
/// Models call `visit` at every tap point for which `isActive` is true, passing the activation
/// by `inout`: assigning a new tensor replaces the activation for the rest of the forward pass.
/// Replacements are recorded by autodiff like any other operation. A hook that throws stops the
/// forward pass at once; the model rethrows its error.
public protocol ActivationHooks: AnyObject {
    /// True when some hook wants the activation at `point` (models skip the call otherwise).
    func isActive(_ point: TapPoint) -> Bool
    /// Reads or replaces the activation. `step` is the time step for recurrent cells, else nil.
    func visit(_ point: TapPoint, step: Int?, _ activation: inout Tensor) throws
    /// True when nothing after layer `layer` is needed: the model may stop there and return the
    /// residual stream as a partial output (used by source runs that only read activations).
    func canStop(afterLayer layer: Int) -> Bool
}

extension ActivationHooks {
    public func canStop(afterLayer layer: Int) -> Bool { false }
}

extension Optional where Wrapped == any ActivationHooks {
    /// True when the hooks allow stopping after `layer`.
    @inline(__always)
    public func canStop(afterLayer layer: Int) -> Bool { self?.canStop(afterLayer: layer) ?? false }

    /// Hands `activation` to the hooks if any are active at (layer, tap).
    @inline(__always)
    public func callAsFunction(_ layer: Int, _ tap: Component, step: Int? = nil, _ activation: inout Tensor) throws {
        guard let hooks = self else { return }
        let point = TapPoint(layer: layer, tap: tap)
        guard hooks.isActive(point) else { return }
        let shape = activation.shape
        try hooks.visit(point, step: step, &activation)
        // A replacement must keep the activation's shape: the model's next step assumes it.
        guard activation.shape == shape else {
            throw ModelError.invalidInput("a hook at layer \(layer), \(tap.rawValue) replaced an activation of shape \(shape) by one of shape \(activation.shape)")
        }
    }
}

/// Closure-based hooks: register a closure per tap point.
public final class HookRegistry: ActivationHooks {
    public typealias Hook = (_ activation: inout Tensor, _ step: Int?) throws -> Void
    private var hooks: [TapPoint: [Hook]] = [:]

    public init() {}

    /// Adds a hook at (layer, tap); hooks at one point run in the order added.
    public func add(layer: Int, tap: Component, _ hook: @escaping Hook) {
        hooks[TapPoint(layer: layer, tap: tap), default: []].append(hook)
    }

    public func isActive(_ point: TapPoint) -> Bool { hooks[point] != nil }

    public func visit(_ point: TapPoint, step: Int?, _ activation: inout Tensor) throws {
        for hook in hooks[point] ?? [] { try hook(&activation, step) }
    }
}
