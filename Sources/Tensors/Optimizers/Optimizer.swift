import Foundation

/// A set of parameters trained with their own learning rate (and weight decay).
public struct ParameterGroup {
    /// The parameters in this group.
    public var parameters: [Parameter]
    /// Base learning rate, before any schedule multiplier.
    public var learningRate: Float
    /// Decoupled (AdamW) or L2 (SGD, Adam) weight decay.
    public var weightDecay: Float

    /// A group of parameters.
    public init(_ parameters: [Parameter], learningRate: Float, weightDecay: Float = 0) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.weightDecay = weightDecay
    }
}

/// Updates parameters from their gradients.
public protocol Optimizer: AnyObject {
    /// The parameter groups, each with its own learning rate.
    var groups: [ParameterGroup] { get set }
    /// Multiplier applied to every group's learning rate (set by a schedule).
    var learningRateScale: Float { get set }
    /// Applies one update from the current gradients. Parameters without a gradient are skipped.
    func step()
}

extension Optimizer {
    /// Clears every parameter's gradient.
    public func zeroGrad() {
        for group in groups { for p in group.parameters { p.zeroGrad() } }
    }

    /// All parameters of all groups.
    public var allParameters: [Parameter] { groups.flatMap(\.parameters) }

    /// The global L2 norm of all gradients (NaN or infinite when any gradient is).
    public func gradientNorm() -> Float {
        GradientClipping.globalNorm(allParameters)
    }

    /// Scales gradients so that their global L2 norm is at most `maxNorm`; returns the norm
    /// before clipping.
    @discardableResult
    public func clipGradientNorm(_ maxNorm: Float) -> Float {
        GradientClipping.clipNorm(allParameters, maxNorm: maxNorm)
    }
}

/// Gradient clipping by global norm.
public enum GradientClipping {
    /// ‖g‖₂ over the gradients of all `parameters` (those without a gradient count as zero).
    public static func globalNorm(_ parameters: [Parameter]) -> Float {
        var total: Double = 0
        for p in parameters {
            guard let g = p.grad else { continue }
            g.withUnsafeElements { b in for v in b { total += Double(v) * Double(v) } }
        }
        return Float(total.squareRoot())
    }

    /// Scales every gradient by min(1, maxNorm / ‖g‖₂) with the norm over all parameters;
    /// returns ‖g‖₂ before clipping.
    @discardableResult
    public static func clipNorm(_ parameters: [Parameter], maxNorm: Float) -> Float {
        let norm = globalNorm(parameters)
        if norm > maxNorm && norm > 0 {
            let scale = maxNorm / (norm + 1e-6)
            for p in parameters {
                guard let g = p.grad else { continue }
                p.value.gradNode?.grad = g * scale
            }
        }
        return norm
    }
}

/// Stochastic gradient descent with optional momentum, Nesterov momentum and L2 weight decay.
public final class SGD: Optimizer {
    public var groups: [ParameterGroup]
    public var learningRateScale: Float = 1
    /// Momentum coefficient (0 disables).
    public let momentum: Float
    /// Use Nesterov momentum.
    public let nesterov: Bool
    /// Momentum buffers, updated in place (a class, so the dictionary holds the only reference).
    private var velocity: [ObjectIdentifier: OptimizerBuffer] = [:]

    /// SGD over parameter groups.
    public init(groups: [ParameterGroup], momentum: Float = 0, nesterov: Bool = false) {
        self.groups = groups
        self.momentum = momentum
        self.nesterov = nesterov
    }

    /// SGD over one group.
    public convenience init(_ parameters: [Parameter], learningRate: Float, momentum: Float = 0, weightDecay: Float = 0) {
        self.init(groups: [ParameterGroup(parameters, learningRate: learningRate, weightDecay: weightDecay)], momentum: momentum)
    }

    public func step() {
        for group in groups {
            let lr = group.learningRate * learningRateScale, wd = group.weightDecay
            for p in group.parameters {
                guard let grad = p.grad else { continue }
                let mu = momentum, nest = nesterov
                let key = ObjectIdentifier(p)
                let first = velocity[key] == nil
                let buffer: OptimizerBuffer? = mu == 0 ? nil : velocity[key] ?? OptimizerBuffer(count: grad.count)
                if let buffer, first { velocity[key] = buffer }
                grad.withUnsafeElements { g in
                    p.update { w in
                        guard let v = buffer?.values else {
                            for i in 0..<w.count { w[i] -= lr * (g[i] + wd * w[i]) }
                            return
                        }
                        for i in 0..<w.count {
                            var d = g[i] + wd * w[i]
                            v[i] = first ? d : mu * v[i] + d
                            d = nest ? d + mu * v[i] : v[i]
                            w[i] -= lr * d
                        }
                    }
                }
            }
        }
    }
}

/// A zero-initialised Float buffer of optimizer state, mutated in place without copy-on-write.
final class OptimizerBuffer {
    let values: UnsafeMutableBufferPointer<Float>
    init(count: Int) {
        values = .allocate(capacity: count)
        values.initialize(repeating: 0)
    }
    deinit { values.deallocate() }
}

/// Adam (Kingma & Ba) with bias correction; `decoupledWeightDecay` turns it into AdamW
/// (Loshchilov & Hutter), where decay shrinks weights directly instead of entering the gradient.
public final class Adam: Optimizer {
    public var groups: [ParameterGroup]
    public var learningRateScale: Float = 1
    /// Exponential decay rates of the first and second moment estimates.
    public let beta1: Float, beta2: Float
    /// Added to the denominator for stability.
    public let epsilon: Float
    /// AdamW behaviour when true.
    public let decoupledWeightDecay: Bool
    /// First and second moments and the step count per parameter, updated in place.
    private var moments: [ObjectIdentifier: (m: OptimizerBuffer, v: OptimizerBuffer, t: Int)] = [:]

    /// Adam over parameter groups.
    public init(groups: [ParameterGroup], beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
                decoupledWeightDecay: Bool = false) {
        self.groups = groups
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.decoupledWeightDecay = decoupledWeightDecay
    }

    /// Adam over one group.
    public convenience init(_ parameters: [Parameter], learningRate: Float, weightDecay: Float = 0) {
        self.init(groups: [ParameterGroup(parameters, learningRate: learningRate, weightDecay: weightDecay)])
    }

    public func step() {
        for group in groups {
            let lr = group.learningRate * learningRateScale, wd = group.weightDecay
            for p in group.parameters {
                guard let grad = p.grad else { continue }
                let key = ObjectIdentifier(p)
                var state = moments[key] ?? (OptimizerBuffer(count: grad.count), OptimizerBuffer(count: grad.count), 0)
                state.t += 1
                moments[key] = state
                let b1 = beta1, b2 = beta2, eps = epsilon, decoupled = decoupledWeightDecay
                let c1 = 1 - Float(Foundation.pow(Double(b1), Double(state.t)))
                let c2 = 1 - Float(Foundation.pow(Double(b2), Double(state.t)))
                let stepSize = lr / c1
                let c2Root = c2.squareRoot()
                let m = state.m.values, v = state.v.values
                grad.withUnsafeElements { g in
                    p.update { w in
                        for i in 0..<w.count {
                            var gi = g[i]
                            if decoupled {
                                w[i] *= 1 - lr * wd
                            } else if wd != 0 {
                                gi += wd * w[i]
                            }
                            m[i] = b1 * m[i] + (1 - b1) * gi
                            v[i] = b2 * v[i] + (1 - b2) * gi * gi
                            w[i] -= stepSize * m[i] / (v[i].squareRoot() / c2Root + eps)
                        }
                    }
                }
            }
        }
    }
}

/// AdamW: Adam with decoupled weight decay (the decay comes from each group's `weightDecay`).
public func AdamW(groups: [ParameterGroup], beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8) -> Adam {
    Adam(groups: groups, beta1: beta1, beta2: beta2, epsilon: epsilon, decoupledWeightDecay: true)
}
