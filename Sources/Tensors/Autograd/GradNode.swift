/// One recorded operation (or one leaf) in the reverse-mode autodiff graph.
///
/// An operation's node keeps the nodes of those inputs that take part in differentiation
/// (`parents`, aligned with the operation's inputs, `nil` for inputs that do not) and a closure
/// that maps the gradient of the output to the gradients of those inputs. A leaf node belongs to
/// a tensor that requires a gradient (a trainable parameter); its `grad` accumulates.
public final class GradNode: @unchecked Sendable {
    /// Nodes of the operation's inputs, `nil` where an input needs no gradient.
    let parents: [GradNode?]
    /// Maps the output gradient to one gradient per input (`nil` where not needed).
    let backwardFunction: ((Tensor) -> [Tensor?])?
    /// Accumulated gradient of a leaf.
    public internal(set) var grad: Tensor?

    /// A leaf node (a tensor that requires a gradient).
    init() {
        parents = []
        backwardFunction = nil
    }

    /// An operation node.
    init(parents: [GradNode?], backward: @escaping (Tensor) -> [Tensor?]) {
        self.parents = parents
        self.backwardFunction = backward
    }

    /// True for leaves.
    var isLeaf: Bool { backwardFunction == nil }
}

/// Whether operations record the autodiff graph on the current task or thread.
public enum GradientMode {
    @TaskLocal static var isEnabled = true

    /// True when operations record the graph (the default).
    public static var enabled: Bool { isEnabled }
}

extension Tensor {
    /// Runs `body` without recording the autodiff graph: no intermediates are kept and results
    /// do not require gradients. Use it for evaluation and data preparation.
    public static func withoutGradients<R>(_ body: () throws -> R) rethrows -> R {
        try GradientMode.$isEnabled.withValue(false, operation: body)
    }

    /// True when this tensor is a leaf that requires a gradient, or was computed from one.
    public var requiresGrad: Bool {
        get { gradNode != nil }
        set {
            if newValue {
                if gradNode == nil { gradNode = GradNode() }
            } else {
                gradNode = nil
            }
        }
    }

    /// The accumulated gradient of a leaf after `backward()`; `nil` before or for non-leaves.
    public var grad: Tensor? { gradNode?.grad }

    /// Clears the accumulated gradient of a leaf.
    public func zeroGrad() { gradNode?.grad = nil }

    /// The same values without autodiff history (shares storage).
    public func detached() -> Tensor {
        var copy = self
        copy.gradNode = nil
        return copy
    }

    /// Returns `self` (the op's output, without history) attached to a new graph node whose
    /// parents are `inputs`' nodes — if gradients are enabled and some input takes part.
    /// `backward` receives the output gradient and a flag per input saying whether its gradient
    /// is needed; it returns one gradient per input (`nil` where not needed or zero).
    func recordingGradient(inputs: [Tensor], backward: @escaping (Tensor, [Bool]) -> [Tensor?]) -> Tensor {
        var needsAny = false
        for input in inputs where input.gradNode != nil {
            needsAny = true
            break
        }
        guard needsAny, GradientMode.isEnabled else { return self }
        let parents = inputs.map { $0.gradNode }
        let needs = parents.map { $0 != nil }
        var out = self
        out.gradNode = GradNode(parents: parents) { grad in backward(grad, needs) }
        return out
    }

    /// Computes gradients of this tensor with respect to every leaf it depends on and adds them
    /// to the leaves' `grad`. `seed` is the gradient of the final objective with respect to this
    /// tensor (ones when omitted, the usual choice for a scalar loss).
    public func backward(seed: Tensor? = nil) {
        guard let root = gradNode else { return }
        let start = seed ?? Tensor.ones(like: self)
        precondition(start.shape == shape, "seed shape \(start.shape) must equal tensor shape \(shape)")
        // Topological order by iterative depth-first search.
        var order: [GradNode] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(GradNode, Int)] = [(root, 0)]
        visited.insert(ObjectIdentifier(root))
        while let (node, next) = stack.popLast() {
            if next < node.parents.count {
                stack.append((node, next + 1))
                if let parent = node.parents[next], visited.insert(ObjectIdentifier(parent)).inserted {
                    stack.append((parent, 0))
                }
            } else {
                order.append(node)
            }
        }
        var pending: [ObjectIdentifier: Tensor] = [ObjectIdentifier(root): start.detached()]
        for node in order.reversed() {
            guard let grad = pending.removeValue(forKey: ObjectIdentifier(node)) else { continue }
            guard let function = node.backwardFunction else {
                if node.grad == nil { node.grad = grad } else { node.grad!.addInPlace(grad) }
                continue
            }
            let parentGrads = Tensor.withoutGradients { function(grad) }
            for (parent, parentGrad) in zip(node.parents, parentGrads) {
                guard let parent, let parentGrad else { continue }
                let key = ObjectIdentifier(parent)
                if pending[key] == nil { pending[key] = parentGrad } else { pending[key]!.addInPlace(parentGrad) }
            }
        }
    }
}
