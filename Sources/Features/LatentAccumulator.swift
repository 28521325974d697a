/// Streams a sparse autoencoder's latents into `LatentStatistics` in bounded memory: per latent a
/// min-heap of its K best (activation, token) pairs with their contexts, firing counts, sums,
/// maxima and a histogram whose bin width doubles (merging bin pairs, which keeps the counts
/// exact) whenever a larger activation arrives. Memory is O(L · (K · (2c + 1) + B)), whatever
/// the corpus length.
///
/// Order of the top contexts: larger activation first; equal activations keep the token read
/// earlier. Only finite z > 0 counts (a latent "fires"); NaN and ±∞ are skipped.
public final class LatentAccumulator {
    private var stats: LatentStatistics
    /// (L, K): slot ids in heap order (root = the worst kept entry).
    private var heap: [Int32]
    /// (L, K): reading-order ordinal of the token in each slot (ties go to the earlier one).
    private var ordinal: [Int]
    /// Per latent: 1 / bin width (a power of two), and the sum of positive activations.
    private var inverseWidth: [Float], sums: [Double]
    private var tokensRead = 0

    /// An empty accumulator; throws `SAEError` naming a count out of range.
    public init(latents: Int, topCount: Int, contextRadius: Int, bins: Int) throws {
        guard latents >= 1 else { throw SAEError.invalid(field: "latents", value: "\(latents)", allowed: "an integer ≥ 1") }
        guard topCount >= 1 else { throw SAEError.invalid(field: "top", value: "\(topCount)", allowed: "an integer ≥ 1") }
        guard contextRadius >= 0 else { throw SAEError.invalid(field: "context", value: "\(contextRadius)", allowed: "an integer ≥ 0") }
        guard bins >= 2, bins % 2 == 0 else { throw SAEError.invalid(field: "bins", value: "\(bins)", allowed: "an even integer ≥ 2") }
        stats = LatentStatistics(latents: latents, topCount: topCount, contextRadius: contextRadius, bins: bins)
        heap = Array(repeating: 0, count: latents * topCount)
        ordinal = Array(repeating: 0, count: latents * topCount)
        inverseWidth = Array(repeating: 1 / LatentHistogram.smallestBinWidth, count: latents)
        sums = Array(repeating: 0, count: latents)
    }

    /// Tokens counted so far.
    public var tokensCounted: Int { stats.tokens }

    /// Adds latents z (T × L, row-major) of the tokens at `positions` (T of them) of window
    /// `window`, whose token ids are `windowTokens` (for the contexts).
    public func add(latents z: UnsafeBufferPointer<Float>, window: Int, windowTokens: [Int], positions: Range<Int>) {
        let l = stats.latents
        precondition(z.count == positions.count * l && positions.upperBound <= windowTokens.count, "latents do not match the positions")
        for (row, position) in positions.enumerated() {
            let token = tokensRead
            tokensRead += 1
            for i in 0..<l {
                let v = z[row * l + i]
                guard v > 0, v.isFinite else { continue }
                count(v, latent: i)
                consider(v, latent: i, ordinal: token, window: window, position: position, windowTokens: windowTokens)
            }
        }
        stats.tokens += positions.count
    }

    /// The statistics so far, top contexts sorted.
    public func finish() -> LatentStatistics {
        var out = stats
        let k = stats.topCount, w = stats.contextWidth
        for i in 0..<stats.latents {
            out.meanActivation[i] = stats.firing[i] > 0 ? Float(sums[i] / Double(stats.firing[i])) : 0
            let n = stats.contextCounts[i]
            let order = (0..<n).sorted { a, b in better(i * k + a, than: i * k + b) }
            for (s, slot) in order.enumerated() {
                let from = i * k + slot, to = i * k + s
                out.contextActivations[to] = stats.contextActivations[from]
                out.contextWindows[to] = stats.contextWindows[from]
                out.contextPositions[to] = stats.contextPositions[from]
                for j in 0..<w { out.contextTokens[to * w + j] = stats.contextTokens[from * w + j] }
            }
        }
        return out
    }

    /// Firing count, sum, maximum and histogram bin of one activation.
    private func count(_ v: Float, latent i: Int) {
        stats.firing[i] += 1
        sums[i] += Double(v)
        if v > stats.maximum[i] { stats.maximum[i] = v }
        let bins = stats.bins
        while v * inverseWidth[i] >= Float(bins) { widen(i) }
        stats.histogramCounts[i * bins + Int(v * inverseWidth[i])] += 1
    }

    /// Doubles latent i's bin width: new bin j = old bins 2j and 2j + 1.
    private func widen(_ i: Int) {
        let b = stats.bins, base = i * b
        for j in 0..<(b / 2) { stats.histogramCounts[base + j] = stats.histogramCounts[base + 2 * j] + stats.histogramCounts[base + 2 * j + 1] }
        for j in (b / 2)..<b { stats.histogramCounts[base + j] = 0 }
        inverseWidth[i] *= 0.5
        stats.binWidths[i] *= 2
    }

    /// True when slot a (a flat index i·K + slot) ranks before slot b.
    private func better(_ a: Int, than b: Int) -> Bool {
        stats.contextActivations[a] > stats.contextActivations[b]
            || (stats.contextActivations[a] == stats.contextActivations[b] && ordinal[a] < ordinal[b])
    }

    /// Keeps (v, token) among latent i's K best when it beats the worst kept one.
    private func consider(_ v: Float, latent i: Int, ordinal token: Int, window: Int, position: Int, windowTokens: [Int]) {
        let k = stats.topCount, base = i * k, n = stats.contextCounts[i]
        let slot: Int
        if n < k {
            slot = n
            heap[base + n] = Int32(n)
            stats.contextCounts[i] = n + 1
        } else {
            // A later token with an equal activation ranks after every kept one: it must be larger.
            guard v > stats.contextActivations[base + Int(heap[base])] else { return }
            slot = Int(heap[base])
        }
        let flat = base + slot, w = stats.contextWidth, c = stats.contextRadius
        stats.contextActivations[flat] = v
        stats.contextWindows[flat] = window
        stats.contextPositions[flat] = position
        ordinal[flat] = token
        for j in 0..<w {
            let p = position - c + j
            stats.contextTokens[flat * w + j] = p >= 0 && p < windowTokens.count ? Int32(truncatingIfNeeded: windowTokens[p]) : -1
        }
        if n < k { siftUp(latent: i, from: n) } else { siftDown(latent: i, count: k) }
    }

    /// Heap positions hold slots; the root is the slot that ranks last.
    private func worse(_ i: Int, _ p: Int, _ q: Int) -> Bool {
        let base = i * stats.topCount
        return better(base + Int(heap[base + q]), than: base + Int(heap[base + p]))
    }

    private func siftUp(latent i: Int, from start: Int) {
        let base = i * stats.topCount
        var p = start
        while p > 0 {
            let parent = (p - 1) / 2
            guard worse(i, p, parent) else { return }
            heap.swapAt(base + p, base + parent)
            p = parent
        }
    }

    private func siftDown(latent i: Int, count n: Int) {
        let base = i * stats.topCount
        var p = 0
        while true {
            let l = 2 * p + 1, r = l + 1
            var worst = p
            if l < n && worse(i, l, worst) { worst = l }
            if r < n && worse(i, r, worst) { worst = r }
            if worst == p { return }
            heap.swapAt(base + p, base + worst)
            p = worst
        }
    }
}
