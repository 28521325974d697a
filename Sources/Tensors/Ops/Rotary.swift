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
    /// How frequencies are rescaled for long contexts.
    public let scaling: RopeScaling
    /// 1 / base^(2i / rotaryDim) for i < rotaryDim / 2, computed in Float32 as Hugging Face does,
    /// then rescaled by `scaling` where that does not depend on the sequence length.
    let inverseFrequencies: [Float]

    /// Rotary embeddings over the first `rotaryDim` of `headDim` features.
    public init(rotaryDim: Int, headDim: Int, base: Float, scaling: RopeScaling = .none) {
        precondition(rotaryDim % 2 == 0 && rotaryDim <= headDim, "rotary dimension \(rotaryDim) must be even and ≤ \(headDim)")
        self.rotaryDim = rotaryDim
        self.headDim = headDim
        self.base = base
        self.scaling = scaling
        inverseFrequencies = scaling.rescaled(RotaryEmbedding.frequencies(base: base, dimensions: rotaryDim))
    }

    /// 1 / base^(2i / dimensions).
    static func frequencies(base: Float, dimensions: Int) -> [Float] {
        (0..<(dimensions / 2)).map { i in
            1 / Float(Foundation.pow(Double(base), Double(Float(2 * i) / Float(dimensions))))
        }
    }

    /// The frequencies for a pass whose largest position is `maxPosition` (only dynamic scaling
    /// depends on it: past the original context the base grows with the sequence length).
    func frequencies(maxPosition: Int) -> [Float] {
        guard case .dynamic(let factor, let original) = scaling, maxPosition + 1 > original else { return inverseFrequencies }
        let length = Double(maxPosition + 1), d = Double(rotaryDim)
        let grown = Double(base) * Foundation.pow(Double(factor) * length / Double(original) - (Double(factor) - 1), d / (d - 2))
        return RotaryEmbedding.frequencies(base: Float(grown), dimensions: rotaryDim)
    }

    /// cos and sin of every (example, position, frequency) for positions (B, S): compute once
    /// per forward pass and share across layers and between queries and keys. Examples with the
    /// same positions share one table.
    public func tables(_ positions: [[Int]]) -> RotaryTables {
        let half = rotaryDim / 2
        let inverseFrequencies = frequencies(maxPosition: positions.joined().max() ?? 0)
        var rows: [Int] = []
        var cos: [Float] = [], sin: [Float] = []
        var seen: [[Int]: Int] = [:]
        for row in positions {
            if let index = seen[row] { rows.append(index); continue }
            let index = seen.count
            seen[row] = index
            rows.append(index)
            for p in row {
                for i in 0..<half {
                    let angle = Float(p) * inverseFrequencies[i]
                    cos.append(Float(Foundation.cos(Double(angle))))
                    sin.append(Float(Foundation.sin(Double(angle))))
                }
            }
        }
        return RotaryTables(length: positions.first?.count ?? 0, half: half, tableOfExample: rows, cos: cos, sin: sin)
    }

    /// Rotates x (B, S, H·headDim); `positions[b][t]` is the absolute position of token t of
    /// example b. Differentiable (the backward pass rotates by −θ).
    public func apply(_ x: Tensor, positions: [[Int]]) -> Tensor {
        apply(x, tables: tables(positions))
    }

    /// Rotates x (B, S, H·headDim) with tables from `tables(_:)`.
    public func apply(_ x: Tensor, tables: RotaryTables) -> Tensor {
        precondition(x.rank == 3 && x.shape[2] % headDim == 0, "rotary expects (B, S, H·\(headDim)), got \(x.shape)")
        precondition(tables.tableOfExample.count == x.shape[0] && tables.length == x.shape[1] && tables.half == rotaryDim / 2,
                     "rotary: tables for (B, S) = (\(tables.tableOfExample.count), \(tables.length)) do not fit \(x.shape)")
        let out = rotate(x.contiguousData(), tables: tables, sign: 1)
        return out.recordingGradient(inputs: [x]) { g, _ in
            [self.rotate(g.contiguousData(), tables: tables, sign: -1)]
        }
    }

    /// The rotation kernel; `sign` −1 rotates backwards.
    func rotate(_ x: Tensor, tables: RotaryTables, sign: Float) -> Tensor {
        let batch = x.shape[0], seq = x.shape[1], width = x.shape[2]
        let heads = width / headDim, half = rotaryDim / 2, pass = headDim - rotaryDim
        let out = Tensor(uninitializedShape: x.shape)
        let src = x.basePointer, dst = out.storage.pointer
        tables.cos.withUnsafeBufferPointer { cosines in
            tables.sin.withUnsafeBufferPointer { sines in
                for b in 0..<batch {
                    let table = tables.tableOfExample[b] * seq * half
                    for t in 0..<seq {
                        let c = cosines.baseAddress! + table + t * half, s = sines.baseAddress! + table + t * half
                        for h in 0..<heads {
                            let base = (b * seq + t) * width + h * headDim
                            for i in 0..<half {
                                let sine = sign * s[i]
                                let x1 = src[base + i], x2 = src[base + i + half]
                                dst[base + i] = x1 * c[i] - x2 * sine
                                dst[base + i + half] = x2 * c[i] + x1 * sine
                            }
                            // Partial rotary: the remaining features pass unchanged.
                            if pass > 0 { (dst + base + rotaryDim).update(from: src + base + rotaryDim, count: pass) }
                        }
                    }
                }
            }
        }
        return out
    }
}

/// Precomputed rotary angles for a batch of position rows (see `RotaryEmbedding.tables`).
public struct RotaryTables: Sendable {
    /// Positions per example.
    let length: Int
    /// Frequencies per position (rotaryDim / 2).
    let half: Int
    /// Which stored table each example uses.
    let tableOfExample: [Int]
    /// (tables, length, half) cosines and sines.
    let cos: [Float], sin: [Float]
}

/// How rotary frequencies are rescaled for contexts longer than a model was trained on
/// (Hugging Face's `rope_scaling`).
public enum RopeScaling: Sendable, Equatable {
    /// Frequencies as computed.
    case none
    /// Every frequency divided by `factor` (position interpolation).
    case linear(factor: Float)
    /// NTK-aware: when a pass reaches length L > `originalMaxPositions`, the base becomes
    /// θ · (factor · L / original − (factor − 1))^(d / (d − 2)).
    case dynamic(factor: Float, originalMaxPositions: Int)
    /// Llama 3.1: wavelengths λ = 2π / f longer than original / lowFrequencyFactor are divided by
    /// `factor`, shorter than original / highFrequencyFactor are kept, and those between are
    /// blended: f' = (1 − s) f / factor + s f with s = (original / λ − low) / (high − low).
    case llama3(factor: Float, lowFrequencyFactor: Float, highFrequencyFactor: Float, originalMaxPositions: Int)
    /// Frequency i divided by `factors[i]` (llama.cpp's `rope_freqs` tensor, which GGUF files of
    /// Llama 3.1 carry instead of the llama3 parameters).
    case frequencyFactors([Float])

    /// Frequencies rescaled where that does not depend on the sequence length.
    func rescaled(_ frequencies: [Float]) -> [Float] {
        switch self {
        case .none, .dynamic: return frequencies
        case .linear(let factor): return frequencies.map { $0 / factor }
        case .frequencyFactors(let factors): return zip(frequencies, factors).map { $0 / $1 }
        case .llama3(let factor, let low, let high, let original):
            let lowWavelength = Float(original) / low, highWavelength = Float(original) / high
            return frequencies.map { f in
                let wavelength = 2 * Float.pi / f
                let scaled = wavelength > lowWavelength ? f / factor : f
                guard !(wavelength < highWavelength) && !(wavelength > lowWavelength) else { return scaled }
                let smooth = (Float(original) / wavelength - low) / (high - low)
                return (1 - smooth) * scaled / factor + smooth * scaled
            }
        }
    }
}
