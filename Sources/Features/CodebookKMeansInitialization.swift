import Intervene
import Models
import Tensors

extension CodebookLayer {
    /// Sets the codes to the k-means centres (`KMeans.fit`) of the layer's LayerNorm-space
    /// inputs: x (…, D) → xn = LayerNorm(x; γ, β, ε) as rows (N, D) → `codeCount` centres
    /// (C, D). With `maxRows`, a seeded sample of that many distinct rows is clustered. γ, β
    /// and the other settings are kept; the usage window restarts.
    ///
    /// Throws `widthMismatch` for inputs of another width, `invalidOption` when fewer rows than
    /// codes are available (or `maxRows` is below the code count), and `KMeans.fit`'s errors.
    @discardableResult
    public func initializeWithKMeans(from activations: Tensor, iterations: Int = 25, maxRows: Int? = nil,
                                     seed: UInt64) throws -> KMeansResult {
        guard activations.rank >= 2, activations.shape[activations.rank - 1] == width else {
            throw CodebookError.widthMismatch(codebook: name, site: "its k-means data \(activations.shape)", expected: width,
                                              actual: activations.shape.last ?? 0)
        }
        if let maxRows, maxRows < codeCount {
            throw CodebookError.invalidOption(codebook: name, field: "maxRows", value: "\(maxRows)", allowed: "at least the \(codeCount) codes")
        }
        let rows = activations.count / width
        guard rows >= codeCount else {
            throw CodebookError.invalidOption(codebook: name, field: "k-means data", value: "\(rows) rows",
                                              allowed: "at least \(codeCount) rows, one per code (collect more tokens)")
        }
        let normalized = Tensor.withoutGradients {
            activations.detached().layerNorm(weight: normWeight.value.detached(), bias: normBias.value.detached(), epsilon: epsilon)
                .reshaped([rows, width])
        }
        let sample = KMeans.sampleRows(normalized, count: maxRows ?? rows, seed: seed)
        let result = try KMeans.fit(sample, clusters: codeCount, iterations: iterations, seed: seed)
        codes.assign(result.centres)
        usage.reset()
        return result
    }
}

extension GroupCodebookLayer {
    /// `CodebookLayer.initializeWithKMeans` for every group on its own part of x (the slices or
    /// heads that `snap` gives it), group g with seed + g; the results in group order.
    @discardableResult
    public func initializeWithKMeans(from activations: Tensor, iterations: Int = 25, maxRows: Int? = nil,
                                     seed: UInt64) throws -> [KMeansResult] {
        let parts = try split(activations).parts
        return try zip(groups, parts).enumerated().map { g, pair in
            try pair.0.initializeWithKMeans(from: pair.1, iterations: iterations, maxRows: maxRows, seed: seed &+ UInt64(g))
        }
    }
}

extension KMeans {
    /// `count` distinct rows of x (N, D) drawn without replacement with `seed`, in their original
    /// order; x itself when count ≥ N.
    static func sampleRows(_ x: Tensor, count: Int, seed: UInt64) -> Tensor {
        let n = x.shape[0]
        guard count < n else { return x }
        var generator = RandomGenerator(seed: seed ^ 0x5EED_0F_C0DE)
        var order = Array(0..<n)
        for i in 0..<count { order.swapAt(i, i + generator.nextInt(below: n - i)) }
        return x.indexSelect(axis: 0, indices: order[0..<count].sorted())
    }
}

extension CodebookModel {
    /// k-means initialisation of every codebook from the base model's activations
    /// (codebook-features' `kmeans_init`): runs the model with the codebooks turned off over
    /// `sequences` (grouped by length into batches of `batchSize`), records each codebook's
    /// input at its site until `maxRows` token rows are collected, then calls
    /// `initializeWithKMeans` on every layer (entry i with seed + 64·i; a group layer per group).
    /// Returns the results by codebook name ("L0.mlp", "L0.attn_preproj.g1"). `progress`
    /// receives (batches run, batches planned).
    ///
    /// Throws `TrainingError.emptyDataset` without a non-empty sequence, `invalidOption` when
    /// fewer token rows than codes were collected, and the model's errors for bad token ids.
    @discardableResult
    public func initializeWithKMeans(sequences: [[Int]], batchSize: Int = 8, iterations: Int = 25, maxRows: Int = 16_384,
                                     seed: UInt64, progress: ((Int, Int) -> Void)? = nil) throws -> [String: KMeansResult] {
        guard batchSize >= 1 else { throw TrainingError.invalidOption(name: "batchSize", value: "\(batchSize)", allowed: "an integer ≥ 1") }
        let batches = Self.batches(of: sequences, size: batchSize, rowLimit: maxRows)
        guard !batches.isEmpty else { throw TrainingError.emptyDataset("k-means initialisation") }
        let sites = Array(Set(entries.map(\.site))).sorted { "\($0)" < "\($1)" }
        var collected: [Site: [Tensor]] = [:]
        let wasEnabled = codebooksEnabled
        codebooksEnabled = false
        defer { codebooksEnabled = wasEnabled }
        for (b, batch) in batches.enumerated() {
            let recorder = try SiteInputRecorder(sites: sites, table: model.siteTable)
            _ = try Tensor.withoutGradients { try model.forward(.tokens(batch), options: ForwardOptions(hooks: recorder)) }
            for (site, t) in recorder.recorded { collected[site, default: []].append(t) }
            progress?(b + 1, batches.count)
        }
        var results: [String: KMeansResult] = [:]
        for (i, entry) in entries.enumerated() {
            let parts = collected[entry.site] ?? []
            let data = parts.count == 1 ? parts[0] : Tensor.concatenate(parts, axis: 0)
            let entrySeed = seed &+ UInt64(64 * i)
            switch entry.layer {
            case let single as CodebookLayer:
                results[entry.name] = try single.initializeWithKMeans(from: data, iterations: iterations, maxRows: maxRows, seed: entrySeed)
            case let group as GroupCodebookLayer:
                let list = try group.initializeWithKMeans(from: data, iterations: iterations, maxRows: maxRows, seed: entrySeed)
                for (g, r) in list.enumerated() { results["\(entry.name).g\(g)"] = r }
            default: break
            }
        }
        return results
    }

    /// Batches of equal-length sequences (grouped by length in first-seen order, `size` rows
    /// each), stopping once `rowLimit` tokens are planned.
    static func batches(of sequences: [[Int]], size: Int, rowLimit: Int) -> [IndexTensor] {
        var byLength: [Int: [[Int]]] = [:], lengths: [Int] = []
        for s in sequences where !s.isEmpty {
            if byLength[s.count] == nil { lengths.append(s.count) }
            byLength[s.count, default: []].append(s)
        }
        var batches: [IndexTensor] = [], tokens = 0
        for length in lengths {
            let group = byLength[length] ?? []
            for start in stride(from: 0, to: group.count, by: size) where tokens < rowLimit {
                let rows = Array(group[start..<Swift.min(start + size, group.count)])
                batches.append(IndexTensor(shape: [rows.count, length], values: rows.flatMap { $0 }))
                tokens += rows.count * length
            }
        }
        return batches
    }
}

/// Records the activation at a set of sites (each in its site's view, without autodiff
/// history) and lets the model stop after the deepest of their layers.
final class SiteInputRecorder: ActivationHooks {
    private let wanted: [TapPoint: [(Site, SiteSpec)]]
    private let lastLayer: Int
    private(set) var recorded: [Site: Tensor] = [:]

    init(sites: [Site], table: SiteTable) throws {
        wanted = try table.tapPoints(for: sites)
        lastLayer = wanted.keys.map(\.layer).max() ?? 0
    }

    func isActive(_ point: TapPoint) -> Bool { wanted[point] != nil }

    func visit(_ point: TapPoint, step: Int?, _ activation: inout Tensor) throws {
        for (site, spec) in wanted[point] ?? [] { recorded[site] = SiteViews.view(activation, spec.view).detached() }
    }

    func canStop(afterLayer layer: Int) -> Bool { layer >= lastLayer }
}
