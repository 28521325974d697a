/// A named, trainable (or frozen) tensor owned by a module or an intervention.
///
/// `Parameter` is a reference type so that a model, an intervention and an optimizer all see the
/// same values: the optimizer updates `value` in place and everyone reads the update. A frozen
/// parameter (`isTrainable == false`) takes part in forward passes without recording anything:
/// gradients flow through the activations it touches but none is computed for it.
public final class Parameter: @unchecked Sendable {
    /// The current values. Trainable parameters carry a leaf autodiff node.
    public private(set) var value: Tensor {
        didSet { version &+= 1 }
    }

    /// Increases whenever the values change (assign, update); lets derived values be cached.
    public private(set) var version = 0

    /// Creates a parameter holding `value`.
    public init(_ value: Tensor, trainable: Bool = true) {
        var v = value.detached()
        v.requiresGrad = trainable
        self.value = v
    }

    /// Whether gradients are computed for this parameter.
    public var isTrainable: Bool {
        get { value.requiresGrad }
        set {
            var v = value.detached()
            v.requiresGrad = newValue
            value = v
        }
    }

    /// The gradient accumulated by the last `backward()` calls, if any.
    public var grad: Tensor? { value.grad }

    /// Clears the accumulated gradient.
    public func zeroGrad() { value.zeroGrad() }

    /// The shape of the values.
    public var shape: [Int] { value.shape }

    /// Replaces the values (same shape), keeping trainability and clearing the gradient.
    public func assign(_ newValue: Tensor) {
        precondition(newValue.shape == value.shape, "assign: shape \(newValue.shape) differs from \(value.shape)")
        var v = newValue.detached()
        v.requiresGrad = isTrainable
        value = v
    }

    /// Edits the accumulated gradient in place through `body` (nothing happens without one):
    /// constraints the optimizer does not know, such as removing the component of a gradient
    /// parallel to a unit-norm decoder row.
    public func updateGradient(_ body: (UnsafeMutableBufferPointer<Float>) -> Void) {
        guard let node = value.gradNode, var g = node.grad else { return }
        node.grad = nil  // drop the node's reference so the storage can be unique
        g.withUnsafeMutableElements(body)
        node.grad = g
    }

    /// Updates the values in place through `body` (the optimizer's step). The autodiff leaf stays
    /// the same object, so references to this parameter keep working; its gradient is kept.
    public func update(_ body: (UnsafeMutableBufferPointer<Float>) -> Void) {
        let node = value.gradNode
        var v = value.detached()
        value = Tensor.zeros([0])  // drop our reference so the storage can be unique
        v.withUnsafeMutableElements(body)
        v.gradNode = node
        value = v
    }
}
