import CKernels

/// Which formula `gelu` uses.
public enum GELUApproximation: String, Sendable, Codable {
    /// Exact: x · Φ(x) = ½x(1 + erf(x/√2)) (BERT, GPT-NeoX "gelu").
    case exact
    /// Tanh form: ½x(1 + tanh(√(2/π)(x + 0.044715x³))) (GPT-2 "gelu_new").
    case tanh
}

/// Elementwise functions of one tensor, each differentiable.
extension Tensor {
    /// Applies a C kernel elementwise; large tensors are split across cores.
    @usableFromInline
    func applyUnary(_ op: ik_unary_op) -> Tensor {
        let x = contiguousData()
        var out = Tensor(uninitializedShape: shape)
        let src = x.basePointer
        let dst = out.storage.pointer
        Parallel.forRanges(count, grain: 1 << 16) { range in
            ik_unary(Int32(op.rawValue), src + range.lowerBound, dst + range.lowerBound, range.count)
        }
        out.gradNode = nil
        let y = out
        return out.recordingGradient(inputs: [self]) { grad, _ in
            let g = grad.contiguousData()
            var dx = Tensor(uninitializedShape: g.shape)
            let gp = g.basePointer, xp = x.basePointer, yp = y.basePointer, dp = dx.storage.pointer
            Parallel.forRanges(g.count, grain: 1 << 16) { r in
                ik_unary_backward(Int32(op.rawValue), xp + r.lowerBound, yp + r.lowerBound,
                                  gp + r.lowerBound, dp + r.lowerBound, r.count)
            }
            dx.gradNode = nil
            return [dx]
        }
    }

    /// eˣ.
    public func exp() -> Tensor { applyUnary(IK_EXP) }
    /// Natural logarithm.
    public func log() -> Tensor { applyUnary(IK_LOG) }
    /// Square root.
    public func sqrt() -> Tensor { applyUnary(IK_SQRT) }
    /// 1/√x.
    public func rsqrt() -> Tensor { applyUnary(IK_RSQRT) }
    /// 1/x.
    public func reciprocal() -> Tensor { applyUnary(IK_RECIPROCAL) }
    /// Hyperbolic tangent.
    public func tanh() -> Tensor { applyUnary(IK_TANH) }
    /// Logistic sigmoid 1/(1 + e⁻ˣ).
    public func sigmoid() -> Tensor { applyUnary(IK_SIGMOID) }
    /// max(x, 0).
    public func relu() -> Tensor { applyUnary(IK_RELU) }
    /// x · sigmoid(x) (SiLU / swish).
    public func silu() -> Tensor { applyUnary(IK_SILU) }
    /// |x|.
    public func abs() -> Tensor { applyUnary(IK_ABS) }
    /// x².
    public func square() -> Tensor { applyUnary(IK_SQUARE) }
    /// GELU in the exact (erf) or tanh form.
    public func gelu(_ approximation: GELUApproximation = .exact) -> Tensor {
        applyUnary(approximation == .exact ? IK_GELU_ERF : IK_GELU_TANH)
    }

    /// −x.
    public static prefix func - (x: Tensor) -> Tensor { x.applyUnary(IK_NEG) }

    /// a · x + b elementwise with scalars a and b.
    public func affine(scale a: Float, shift b: Float) -> Tensor {
        let x = contiguousData()
        let out = Tensor(uninitializedShape: shape)
        let src = x.basePointer, dst = out.storage.pointer
        Parallel.forRanges(count) { r in
            ik_affine(src + r.lowerBound, a, b, dst + r.lowerBound, r.count)
        }
        return out.recordingGradient(inputs: [self]) { grad, _ in [grad.affine(scale: a, shift: 0)] }
    }

    /// x · s.
    public static func * (x: Tensor, s: Float) -> Tensor { x.affine(scale: s, shift: 0) }
    /// s · x.
    public static func * (s: Float, x: Tensor) -> Tensor { x.affine(scale: s, shift: 0) }
    /// x / s.
    public static func / (x: Tensor, s: Float) -> Tensor { x.affine(scale: 1 / s, shift: 0) }
    /// x + s.
    public static func + (x: Tensor, s: Float) -> Tensor { x.affine(scale: 1, shift: s) }
    /// s + x.
    public static func + (s: Float, x: Tensor) -> Tensor { x.affine(scale: 1, shift: s) }
    /// x − s.
    public static func - (x: Tensor, s: Float) -> Tensor { x.affine(scale: 1, shift: -s) }
    /// s − x.
    public static func - (s: Float, x: Tensor) -> Tensor { x.affine(scale: -1, shift: s) }

    /// Clamps every element to [low, high]; the gradient passes where the input is inside.
    public func clamped(min low: Float, max high: Float) -> Tensor {
        let x = contiguousData()
        let out = Tensor(uninitializedShape: shape)
        let src = x.basePointer, dst = out.storage.pointer
        for i in 0..<count { dst[i] = Swift.min(Swift.max(src[i], low), high) }
        return out.recordingGradient(inputs: [self]) { grad, _ in
            let g = grad.contiguousData()
            let dx = Tensor(uninitializedShape: g.shape)
            let gp = g.basePointer, dp = dx.storage.pointer
            for i in 0..<g.count { dp[i] = (src[i] >= low && src[i] <= high) ? gp[i] : 0 }
            _ = x
            return [dx]
        }
    }

    /// xᵖ for a scalar exponent (differentiable).
    public func pow(_ p: Float) -> Tensor {
        let x = contiguousData()
        let out = Tensor(uninitializedShape: shape)
        let src = x.basePointer, dst = out.storage.pointer
        for i in 0..<count { dst[i] = Foundation_powf(src[i], p) }
        return out.recordingGradient(inputs: [self]) { grad, _ in
            let g = grad.contiguousData()
            let dx = Tensor(uninitializedShape: g.shape)
            let gp = g.basePointer, dp = dx.storage.pointer
            for i in 0..<g.count { dp[i] = gp[i] * p * Foundation_powf(src[i], p - 1) }
            _ = x
            return [dx]
        }
    }
}

#if canImport(Glibc)
import Glibc
@usableFromInline func Foundation_powf(_ x: Float, _ y: Float) -> Float { Glibc.powf(x, y) }
#else
import Foundation
@usableFromInline func Foundation_powf(_ x: Float, _ y: Float) -> Float { Foundation.pow(x, y) }
#endif
