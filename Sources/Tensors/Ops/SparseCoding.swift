/// Activations and penalties of sparse autoencoders, each differentiable: TopK selection,
/// JumpReLU and its step function with the straight-through pseudo-derivatives of
/// Rajamanoharan et al. (2024), and the L1 penalty weighted by decoder row norms.
extension Tensor {
    /// max(x, 0) at the `k` largest entries of each row along the last axis, 0 elsewhere (ties:
    /// the lower index is kept). Shapes: (…, n) → (…, n); `k` in 0...n. The gradient passes
    /// where the output is positive. A BatchTopK over a whole batch is this op on the batch
    /// reshaped to one row.
    public func topKReLU(_ k: Int) -> Tensor {
        let n = shape.last ?? 1
        precondition(k >= 0 && k <= n, "topKReLU: k = \(k) out of range 0...\(n)")
        let x = contiguousData()
        let rows = count / Swift.max(n, 1)
        let out = Tensor(uninitializedShape: shape)
        let src = x.basePointer, dst = out.storage.pointer
        Parallel.forRanges(rows, grain: Swift.max(1, (1 << 15) / Swift.max(n, 1)), alignment: 1) { range in
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: n)
            defer { scratch.deallocate() }
            for r in range {
                Tensor.keepLargest(src + r * n, into: dst + r * n, count: n, k: k, scratch: scratch)
            }
        }
        let y = out
        return out.recordingGradient(inputs: [self]) { g, _ in
            let gc = g.contiguousData()
            let dx = Tensor(uninitializedShape: y.shape)
            let gp = gc.basePointer, yp = y.storage.pointer, dp = dx.storage.pointer
            for i in 0..<y.count { dp[i] = yp[i] > 0 ? gp[i] : 0 }
            return [dx]
        }
    }

    /// Writes max(row[i], 0) for the k largest entries of `row` (ties: lower index) and 0
    /// elsewhere. NaN counts as −∞. `scratch` holds `count` floats.
    static func keepLargest(_ row: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count n: Int, k: Int,
                            scratch: UnsafeMutablePointer<Float>) {
        guard k > 0 else { out.update(repeating: 0, count: n); return }
        if k >= n {
            for i in 0..<n { out[i] = row[i] > 0 ? row[i] : 0 }
            return
        }
        for i in 0..<n { scratch[i] = row[i].isNaN ? -.infinity : row[i] }
        let cut = kthLargest(scratch, count: n, k: k)
        var above = 0
        for i in 0..<n where row[i] > cut { above += 1 }
        var ties = k - above  // entries equal to the cut that are kept, lowest index first
        for i in 0..<n {
            let v = row[i]
            var keep = v > cut
            if !keep && v == cut && ties > 0 {
                keep = true
                ties -= 1
            }
            out[i] = keep && v > 0 ? v : 0
        }
    }

    /// The k-th largest of `values[0..<n]` (1-based k), by quickselect; reorders `values`.
    static func kthLargest(_ values: UnsafeMutablePointer<Float>, count n: Int, k: Int) -> Float {
        var low = 0, high = n - 1
        let target = k - 1  // position in descending order
        while low < high {
            // Median of three as the pivot, then a Hoare partition into ≥ pivot | ≤ pivot.
            let mid = low + (high - low) / 2
            let a = values[low], b = values[mid], c = values[high]
            let pivot = Swift.max(Swift.min(a, b), Swift.min(Swift.max(a, b), c))
            var i = low, j = high
            while i <= j {
                while values[i] > pivot { i += 1 }
                while values[j] < pivot { j -= 1 }
                if i <= j {
                    (values[i], values[j]) = (values[j], values[i])
                    i += 1
                    j -= 1
                }
            }
            if target <= j { high = j } else if target >= i { low = i } else { return values[target] }
        }
        return values[target]
    }

    /// JumpReLU, y = x · H(x − θ) with per-feature thresholds θ (the last axis). Shapes:
    /// x (…, n), θ (n) → (…, n). Gradients: ∂y/∂x = H(x − θ); for θ the straight-through
    /// pseudo-derivative ∂y/∂θ = −(θ/ε) K((x − θ)/ε), K the rectangle 1{|u| < ½} and ε the
    /// `bandwidth` (its expectation over x is the derivative of E[y]).
    public func jumpReLU(threshold: Tensor, bandwidth: Float) -> Tensor {
        thresholded(threshold, bandwidth: bandwidth, keepsValue: true)
    }

    /// The step H(x − θ) ∈ {0, 1} with per-feature thresholds θ (the last axis), e.g. for an
    /// L0 penalty. Shapes: x (…, n), θ (n) → (…, n). Gradients: none for x; for θ the
    /// pseudo-derivative ∂H/∂θ = −(1/ε) K((x − θ)/ε) (K the rectangle 1{|u| < ½}, ε the
    /// `bandwidth`).
    public func heavisideStep(threshold: Tensor, bandwidth: Float) -> Tensor {
        thresholded(threshold, bandwidth: bandwidth, keepsValue: false)
    }

    /// JumpReLU (`keepsValue`) or its step function, with the pseudo-derivatives above.
    private func thresholded(_ threshold: Tensor, bandwidth: Float, keepsValue: Bool) -> Tensor {
        let n = shape.last ?? 1
        precondition(threshold.shape == [n], "threshold \(threshold.shape) should be [\(n)]")
        precondition(bandwidth > 0, "bandwidth must be positive")
        let x = contiguousData(), t = threshold.contiguousData()
        let out = Tensor(uninitializedShape: shape)
        let xp = x.basePointer, tp = t.basePointer, dst = out.storage.pointer
        let rows = count / Swift.max(n, 1)
        for r in 0..<rows {
            for i in 0..<n {
                let v = xp[r * n + i]
                dst[r * n + i] = v > tp[i] ? (keepsValue ? v : 1) : 0
            }
        }
        return out.recordingGradient(inputs: [self, threshold]) { g, needs in
            let gc = g.contiguousData()
            let gp = gc.basePointer
            var grads: [Tensor?] = [nil, nil]
            if needs[0] && keepsValue {
                let dx = Tensor(uninitializedShape: x.shape)
                let dp = dx.storage.pointer
                for r in 0..<rows { for i in 0..<n { dp[r * n + i] = xp[r * n + i] > tp[i] ? gp[r * n + i] : 0 } }
                grads[0] = dx
            }
            if needs[1] {
                var sums = [Double](repeating: 0, count: n)
                let half = bandwidth / 2
                for r in 0..<rows {
                    for i in 0..<n where Swift.abs(xp[r * n + i] - tp[i]) < half { sums[i] += Double(gp[r * n + i]) }
                }
                let dt = Tensor(uninitializedShape: [n])
                for i in 0..<n { dt.storage.pointer[i] = -Float(sums[i]) * (keepsValue ? tp[i] : 1) / bandwidth }
                grads[1] = dt
            }
            return grads
        }
    }

    /// The L1 penalty of latents weighted by their decoder rows' norms (Anthropic's April 2024
    /// update): Σ_{…, i} |z_…i| · ‖W_i‖₂. Shapes: latents (…, L), decoder (L, d) → scalar.
    /// Gradients: ∂/∂z = sign(z) ‖W_i‖; ∂/∂W_i = (Σ |z_·i|) W_i / ‖W_i‖ (0 for a zero row).
    public static func decoderWeightedL1(latents z: Tensor, decoder w: Tensor) -> Tensor {
        let l = w.shape[0], d = w.shape[1]
        precondition(w.rank == 2 && z.shape.last == l, "decoderWeightedL1: latents \(z.shape) and decoder \(w.shape) do not match")
        let zc = z.contiguousData(), wc = w.contiguousData()
        let zp = zc.basePointer, wp = wc.basePointer
        var norms = [Float](repeating: 0, count: l), magnitudes = [Double](repeating: 0, count: l)
        for i in 0..<l {
            var s: Float = 0
            for j in 0..<d { s += wp[i * d + j] * wp[i * d + j] }
            norms[i] = s.squareRoot()
        }
        let rows = z.count / Swift.max(l, 1)
        for r in 0..<rows { for i in 0..<l { magnitudes[i] += Double(Swift.abs(zp[r * l + i])) } }
        var total = 0.0
        for i in 0..<l { total += magnitudes[i] * Double(norms[i]) }
        let out = Tensor(scalar: Float(total))
        return out.recordingGradient(inputs: [z, w]) { g, needs in
            let scale = g.item
            var grads: [Tensor?] = [nil, nil]
            if needs[0] {
                let dz = Tensor(uninitializedShape: zc.shape)
                let dp = dz.storage.pointer
                for r in 0..<rows {
                    for i in 0..<l {
                        let v = zp[r * l + i]
                        dp[r * l + i] = v > 0 ? scale * norms[i] : (v < 0 ? -scale * norms[i] : 0)
                    }
                }
                grads[0] = dz
            }
            if needs[1] {
                let dw = Tensor(uninitializedShape: [l, d])
                let dp = dw.storage.pointer
                for i in 0..<l {
                    let factor = norms[i] > 0 ? scale * Float(magnitudes[i]) / norms[i] : 0
                    for j in 0..<d { dp[i * d + j] = factor * wp[i * d + j] }
                }
                grads[1] = dw
            }
            return grads
        }
    }
}
