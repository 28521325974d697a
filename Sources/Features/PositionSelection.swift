import Tensors

/// Which positions of a batch of windows an SAE trains on and is measured at: every position
/// from `skip` on, except attention sinks — positions whose activation norm exceeds `ratio` times
/// the median norm of its window's positions from `skip` on. (SmolLM2 puts ‖x‖ ≈ 24 000, against
/// ≈ 170 elsewhere, on the first position and, in windows that start on white space, on the
/// second; a handful of such rows would otherwise carry most of the variance.)
public struct PositionSelection: Sendable, Equatable {
    /// Leading positions of each window left out.
    public var skip: Int
    /// The sink rule's multiple of the median norm (nil: no sink rule).
    public var sinkRatio: Float?

    public init(skip: Int = 1, sinkRatio: Float? = 10) {
        self.skip = skip
        self.sinkRatio = sinkRatio
    }

    /// Throws `SAEError` for a negative skip or a ratio that is not a finite number > 1.
    public func validate() throws {
        guard skip >= 0 else { throw SAEError.invalid(field: "skipPositions", value: "\(skip)", allowed: "an integer ≥ 0") }
        if let sinkRatio, !(sinkRatio.isFinite && sinkRatio > 1) {
            throw SAEError.invalid(field: "sinkRatio", value: "\(sinkRatio)", allowed: "a finite number > 1")
        }
    }

    /// Per position of activations (B, S, d), row-major: true where it is kept.
    public func kept(_ activations: Tensor) -> [Bool] {
        let b = activations.shape[0], s = activations.shape[1], d = activations.shape[2]
        var keep = [Bool](repeating: false, count: b * s)
        guard s > skip else { return keep }
        activations.withUnsafeElements { values in
            var norms = [Float](repeating: 0, count: s - skip)
            for w in 0..<b {
                for p in skip..<s {
                    var sum: Float = 0
                    for j in 0..<d { let v = values[(w * s + p) * d + j]; sum += v * v }
                    norms[p - skip] = sum.squareRoot()
                }
                let limit = sinkRatio.map { $0 * norms.sorted()[(s - skip) / 2] } ?? .infinity
                for p in skip..<s { keep[w * s + p] = norms[p - skip] <= limit }
            }
        }
        return keep
    }

    /// The kept rows of activations (B, S, width) as (n, width).
    public static func rows(_ activations: Tensor, keep: [Bool]) -> Tensor {
        let width = activations.shape[2], n = keep.filter { $0 }.count
        var out = Tensor(uninitializedShape: [n, width])
        activations.withUnsafeElements { src in
            out.withUnsafeMutableElements { dst in
                var r = 0
                for (i, k) in keep.enumerated() where k {
                    (dst.baseAddress! + r * width).update(from: src.baseAddress! + i * width, count: width)
                    r += 1
                }
            }
        }
        return out
    }
}
