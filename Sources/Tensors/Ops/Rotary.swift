import Foundation

/// Rotary position embeddings in Hugging Face's `rotate_half` convention: inside each head, the
/// first `rotaryDim` features are rotated with dimension i paired with i + rotaryDim/2, by the
/// angle position · base^(−2i/rotaryDim); the remaining features pass unchanged (partial rotary,
/// as in GPT-NeoX's `rotary_pct`).
///
///     out_i        = x_i cos θ_i − x_{i+r/2} sin θ_i
///     out_{i+r/2}  = x_{i+r/2} cos θ_i + x_i sin θ_i
public struct RotaryEmbedding: Sendable {
    /// Features rotated per head (even).
    public let rotaryDim: Int
    /// Width of each head.
    public let headDim: Int
    /// The frequency base θ (10000 in most models).
    public let base: Float
    /// 1 / base^(2i / rotaryDim) for i < rotaryDim / 2, computed in Float32 as Hugging Face does.
    let inverseFrequencies: [Float]

    /// Rotary embeddings over the first `rotaryDim` of `headDim` features.
    public init(rotaryDim: Int, headDim: Int, base: Float) {
        precondition(rotaryDim % 2 == 0 && rotaryDim <= headDim, "rotary dimension \(rotaryDim) must be even and ≤ \(headDim)")
        self.rotaryDim = rotaryDim
        self.headDim = headDim
        self.base = base
        inverseFrequencies = (0..<(rotaryDim / 2)).map { i in
            1 / Float(Foundation.pow(Double(base), Double(Float(2 * i) / Float(rotaryDim))))
        }
    }

    /// cos and sin tables, (positions, rotaryDim/2) each, for the given absolute positions.
    func tables(_ positions: [Int]) -> (cos: [Float], sin: [Float]) {
        let half = rotaryDim / 2
        var c = [Float](repeating: 0, count: positions.count * half)
        var s = c
        for (t, p) in positions.enumerated() {
            for i in 0..<half {
                let angle = Float(p) * inverseFrequencies[i]
                c[t * half + i] = Float(Foundation.cos(Double(angle)))
                s[t * half + i] = Float(Foundation.sin(Double(angle)))
            }
        }
        return (c, s)
    }

    /// Rotates x (B, S, H·headDim); `positions[b][t]` is the absolute position of token t of
    /// example b. Differentiable (the backward pass rotates by −θ).
    public func apply(_ x: Tensor, positions: [[Int]]) -> Tensor {
        precondition(x.rank == 3 && x.shape[2] % headDim == 0, "rotary expects (B, S, H·\(headDim)), got \(x.shape)")
        precondition(positions.count == x.shape[0] && positions.allSatisfy { $0.count == x.shape[1] },
                     "rotary: positions must be (B, S) = (\(x.shape[0]), \(x.shape[1]))")
        let out = rotate(x.contiguousData(), positions: positions, sign: 1)
        return out.recordingGradient(inputs: [x]) { g, _ in
            [self.rotate(g.contiguousData(), positions: positions, sign: -1)]
        }
    }

    /// The rotation kernel; `sign` −1 rotates backwards.
    func rotate(_ x: Tensor, positions: [[Int]], sign: Float) -> Tensor {
        let batch = x.shape[0], seq = x.shape[1], width = x.shape[2]
        let heads = width / headDim, half = rotaryDim / 2
        let out = Tensor(uninitializedShape: x.shape)
        let src = x.basePointer, dst = out.storage.pointer
        dst.update(from: src, count: x.count)
        for b in 0..<batch {
            let (c, s) = tables(positions[b])
            for t in 0..<seq {
                for h in 0..<heads {
                    let base = (b * seq + t) * width + h * headDim
                    for i in 0..<half {
                        let cosine = c[t * half + i], sine = sign * s[t * half + i]
                        let x1 = src[base + i], x2 = src[base + i + half]
                        dst[base + i] = x1 * cosine - x2 * sine
                        dst[base + i + half] = x2 * cosine + x1 * sine
                    }
                }
            }
        }
        return out
    }
}
