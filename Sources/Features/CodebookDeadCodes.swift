import Models
import Tensors

/// How often a codebook selected each of its codes in the current window: the calls since the
/// layer was created, `reset()`, or the latest `replaceDeadCodes(noise:seed:)`. Recorded by
/// `callAsFunction` (every pass of a codebook model), not by explicit `snap` calls.
///
/// A code is **dead** when the window has at least one call and the code was never selected in
/// it (a blocked slot, id −1, counts for no code). The window also keeps the LayerNorm-space
/// inputs xn (N, D) of its latest call: the rows dead codes are re-initialised from.
public struct CodeUsage {
    /// Selections per code in the window: the number of (row, slot) pairs that chose it.
    public private(set) var counts: [Int]
    /// Calls recorded in the window.
    public private(set) var calls = 0
    /// Rows snapped in the window (N per call, summed).
    public private(set) var rows = 0
    /// When false, calls are not recorded.
    public var isTracking = true
    /// xn of the latest recorded call, (N, D), without autodiff history.
    public private(set) var recentInputs: Tensor?

    /// An empty window for `codeCount` codes.
    public init(codeCount: Int) { counts = Array(repeating: 0, count: codeCount) }

    /// Codes never selected in the window, ascending; empty while the window has no call.
    public var deadCodes: [Int] {
        calls == 0 ? [] : counts.indices.filter { counts[$0] == 0 }
    }

    /// Adds one snap's selections and keeps its normalised rows.
    mutating func record(_ snap: CodebookSnap) {
        guard isTracking, let ids = snap.codes, let xn = snap.normalized else { return }
        for id in ids.values where id >= 0 && id < counts.count { counts[id] += 1 }
        let width = xn.shape[xn.rank - 1]
        recentInputs = xn.detached().reshaped([xn.count / width, width])
        calls += 1
        rows += xn.count / width
    }

    /// Starts a new, empty window (keeps `isTracking`).
    public mutating func reset() {
        counts = Array(repeating: 0, count: counts.count)
        calls = 0
        rows = 0
        recentInputs = nil
    }
}

extension CodebookLayer {
    /// Re-initialises the dead codes of the current window (`usage.deadCodes`) from the window's
    /// latest LayerNorm-space inputs, then starts a new window. Returns how many codes changed.
    ///
    /// As codebook-features' `replace_dead_codes`: the N rows of xn are shuffled (seeded) and
    /// dead code j (in ascending order) takes row perm[j mod N], so distinct rows are used while
    /// there are enough. Each new code gets Gaussian noise relative to its row's norm:
    ///
    ///     C[c] = x + noise · (‖x‖₂ / √D) · ε,   ε ~ N(0, I_D)   (so ‖noise part‖ ≈ noise · ‖x‖₂)
    ///
    /// (the reference scales ε by ‖x‖₂ itself: its `replace_rho` ρ equals noise / √D here).
    /// Nothing changes when no code is dead or the window has no call; live codes, γ and β
    /// never change, so the forward pass of inputs that select only live codes is unchanged.
    /// The optimizer's moment estimates for the replaced rows are kept, as in the reference.
    /// Throws `invalidHyperparameter` for a noise that is negative or not finite.
    @discardableResult
    public func replaceDeadCodes(noise: Float = 0.01, seed: UInt64) throws -> Int {
        guard noise.isFinite && noise >= 0 else {
            throw CodebookError.invalidHyperparameter(field: "noise", value: "\(noise)", allowed: "a finite number ≥ 0")
        }
        defer { usage.reset() }
        let dead = usage.deadCodes
        guard !dead.isEmpty, let inputs = usage.recentInputs, inputs.shape[0] > 0 else { return 0 }
        let rows = inputs.shape[0], d = width
        var generator = RandomGenerator(seed: seed)
        var order = Array(0..<rows)
        order.shuffle(using: &generator)
        let scale = noise / Float(d).squareRoot()
        inputs.withUnsafeElements { x in
            codes.update { table in
                for (j, code) in dead.enumerated() {
                    let row = order[j % rows] * d
                    var norm: Float = 0
                    for i in 0..<d { norm += x[row + i] * x[row + i] }
                    let sigma = scale * norm.squareRoot()
                    for i in 0..<d { table[code * d + i] = x[row + i] + (sigma > 0 ? sigma * generator.nextNormal() : 0) }
                }
            }
        }
        return dead.count
    }

    /// Starts a new usage window.
    public func resetUsage() { usage.reset() }
}

extension GroupCodebookLayer {
    /// `CodebookLayer.replaceDeadCodes(noise:seed:)` for every group (group g with seed + g);
    /// returns the codes replaced over all groups.
    @discardableResult
    public func replaceDeadCodes(noise: Float = 0.01, seed: UInt64) throws -> Int {
        var replaced = 0
        for (g, layer) in groups.enumerated() { replaced += try layer.replaceDeadCodes(noise: noise, seed: seed &+ UInt64(g)) }
        return replaced
    }

    /// Starts a new usage window in every group.
    public func resetUsage() { for layer in groups { layer.resetUsage() } }
}

extension CodebookModel {
    /// Every single codebook once, by its entry-based name ("L0.mlp", "L0.attn_preproj.g1"):
    /// `codebooks` without the reference-style aliases of qkv groups.
    public var distinctCodebooks: [(name: String, layer: CodebookLayer)] {
        var seen = Set<ObjectIdentifier>()
        return codebooks.filter { seen.insert(ObjectIdentifier($0.layer)).inserted }
    }

    /// Replaces the dead codes of every codebook (codebook i of `distinctCodebooks` with seed
    /// + i); returns the codes replaced per codebook name.
    @discardableResult
    public func replaceDeadCodes(noise: Float = 0.01, seed: UInt64) throws -> [String: Int] {
        var replaced: [String: Int] = [:]
        for (i, (name, layer)) in distinctCodebooks.enumerated() {
            replaced[name] = try layer.replaceDeadCodes(noise: noise, seed: seed &+ UInt64(i))
        }
        return replaced
    }

    /// Starts a new usage window in every codebook.
    public func resetCodeUsage() { for (_, layer) in distinctCodebooks { layer.resetUsage() } }
}
