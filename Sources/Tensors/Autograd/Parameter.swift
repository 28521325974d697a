/// A named, trainable (or frozen) tensor owned by a module or an intervention.
///
/// `Parameter` is a reference type so that a model, an intervention and an optimizer all see the
/// same values: the optimizer updates `value` in place and everyone reads the update. A frozen
/// parameter (`isTrainable == false`) takes part in forward passes without recording anything:
/// gradients flow through the activations it touches but none is computed for it.
///
/// A parameter may instead hold a matrix kept in quantized blocks (`quantized`, loaded from a
/// GGUF file): layers multiply by the blocks directly, `value` decodes a fresh Float32 copy for
/// code that reads the weights themselves, and the parameter is always frozen.
public final class Parameter: @unchecked Sendable {
    /// The Float32 values (an empty placeholder while `quantized` holds the weights).
    private var stored: Tensor {
        didSet { version &+= 1 }
    }

    /// The weights in their quantized blocks, or nil for a Float32 parameter.
    public private(set) var quantized: QuantizedMatrix? {
        didSet { version &+= 1 }
    }

    /// The current values. Trainable parameters carry a leaf autodiff node. For a quantized
    /// parameter every read decodes the blocks into a new tensor (costly for large matrices;
    /// layers use `quantized` directly).
    public var value: Tensor { quantized?.dequantized() ?? stored }

    /// Increases whenever the values change (assign, update); lets derived values be cached.
    public private(set) var version = 0

    /// Creates a parameter holding `value`.
    public init(_ value: Tensor, trainable: Bool = true) {
        var v = value.detached()
        v.requiresGrad = trainable
        self.stored = v
    }

    /// Whether gradients are computed for this parameter (always false for a quantized one).
    /// Setting it to true on a quantized parameter is a programmer error; `setTrainable(_:name:)`
    /// throws instead.
    public var isTrainable: Bool {
        get { quantized == nil && stored.requiresGrad }
        set {
            precondition(!(newValue && quantized != nil), "a quantized weight cannot be trained; use setTrainable(_:name:) for a typed error")
            var v = stored.detached()
            v.requiresGrad = newValue
            stored = v
        }
    }

    /// Makes the parameter trainable or frozen; throws `QuantizedWeightError.notTrainable`
    /// (naming `name`) when asked to train a quantized weight.
    public func setTrainable(_ trainable: Bool, name: String = "parameter") throws {
        if trainable && quantized != nil { throw QuantizedWeightError.notTrainable(parameter: name) }
        if quantized == nil { isTrainable = trainable }
    }

    /// The gradient accumulated by the last `backward()` calls, if any.
    public var grad: Tensor? { stored.grad }

    /// Clears the accumulated gradient.
    public func zeroGrad() { stored.zeroGrad() }

    /// The shape of the values.
    public var shape: [Int] { quantized?.shape ?? stored.shape }

    /// Replaces the values (same shape), keeping trainability and clearing the gradient. A
    /// quantized parameter becomes a frozen Float32 one holding `newValue`.
    public func assign(_ newValue: Tensor) {
        precondition(newValue.shape == shape, "assign: shape \(newValue.shape) differs from \(shape)")
        var v = newValue.detached()
        v.requiresGrad = isTrainable
        quantized = nil
        stored = v
    }

    /// Replaces the values by a matrix kept in quantized blocks (same shape); the parameter
    /// becomes frozen and its Float32 storage is released.
    public func assign(quantized matrix: QuantizedMatrix) {
        precondition(matrix.shape == shape, "assign: quantized shape \(matrix.shape) differs from \(shape)")
        stored = Tensor.zeros([0])
        quantized = matrix
    }

    /// Edits the accumulated gradient in place through `body` (nothing happens without one):
    /// constraints the optimizer does not know, such as removing the component of a gradient
    /// parallel to a unit-norm decoder row.
    public func updateGradient(_ body: (UnsafeMutableBufferPointer<Float>) -> Void) {
        guard let node = stored.gradNode, var g = node.grad else { return }
        node.grad = nil  // drop the node's reference so the storage can be unique
        g.withUnsafeMutableElements(body)
        node.grad = g
    }

    /// Updates the values in place through `body` (the optimizer's step). The autodiff leaf stays
    /// the same object, so references to this parameter keep working; its gradient is kept.
    /// A quantized parameter has no gradient and is never updated (programmer error).
    public func update(_ body: (UnsafeMutableBufferPointer<Float>) -> Void) {
        precondition(quantized == nil, "a quantized weight cannot be updated")
        let node = stored.gradNode
        var v = stored.detached()
        stored = Tensor.zeros([0])  // drop our reference so the storage can be unique
        v.withUnsafeMutableElements(body)
        v.gradNode = node
        stored = v
    }
}
