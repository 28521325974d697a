import Models
import Tensors

/// G independent codebooks over G equal parts of an activation (codebook-features'
/// `GroupCodebookLayer`): sub-codebook g is an ordinary `CodebookLayer` with its own LayerNorm
/// and its own codes, of width d.
///
/// * Slices: x (…, T, G·d) is cut along the last axis; slice g (features g·d ..< (g+1)·d) goes
///   through sub-codebook g and the outputs are concatenated back, (…, T, G·d). One codebook
///   per head on the merged attention output before the output projection
///   (`attention_value_output`) is this layout with G = heads.
/// * Heads: x (B, T, G, d) (TransformerLens's `attn.hook_z` layout); x[:, :, g] goes through
///   sub-codebook g and the outputs are stacked on axis 2.
///
/// Code ids are stacked per group: (G, …, T, k). Auxiliary losses are summed over the groups.
public final class GroupCodebookLayer: SiteLayer {
    public let name: String
    /// The sub-codebooks, group g at index g.
    public let groups: [CodebookLayer]
    /// When false the layer returns its input unchanged.
    public var isEnabled = true
    /// The result of the latest `callAsFunction` call.
    public private(set) var lastSnap: CodebookSnap?

    /// Width of one group, d.
    public var groupWidth: Int { groups[0].width }
    /// Total width G·d.
    public var width: Int { groups.count * groupWidth }

    /// `groups` sub-codebooks splitting `width`; throws `groupsDoNotDivide` when G ∤ width.
    /// Sub-codebook g draws its codes with seed `seed + g`.
    public init(name: String = "codebook", width: Int, groups: Int, codeCount: Int, k: Int = 1,
                similarity: CodebookSimilarity = .innerProduct, objective: CodebookObjective = .aeloss,
                epsilon: Float = 1e-5, seed: UInt64 = 0) throws {
        guard groups > 0 else { throw CodebookError.invalidHyperparameter(field: "groups", value: "\(groups)", allowed: "a positive integer") }
        guard width > 0 && width % groups == 0 else { throw CodebookError.groupsDoNotDivide(codebook: name, groups: groups, width: width) }
        self.name = name
        self.groups = try (0..<groups).map { g in
            try CodebookLayer(name: "\(name).g\(g)", width: width / groups, codeCount: codeCount, k: k, similarity: similarity,
                              objective: objective, epsilon: epsilon, seed: seed &+ UInt64(g))
        }
    }

    /// Parameters as the reference names them: codebook.{g}.codebook.weight, codebook.{g}.ln.weight, ….
    public func visitParameters(_ visit: (String, Parameter) -> Void) {
        for (g, layer) in groups.enumerated() { layer.visitParameters { visit("codebook.\(g).\($0)", $1) } }
    }

    /// Forgets `lastSnap`.
    public func clearLastSnap() { lastSnap = nil }

    /// Sets the training objective of every group.
    public func setObjective(_ objective: CodebookObjective) { for g in groups { g.objective = objective } }

    /// Snaps each group with its own `callOptions` and `patches`; records `lastSnap`.
    public func callAsFunction(_ activation: Tensor) throws -> Tensor {
        let (result, perGroup) = try snapGroups(activation, options: groups.map(\.callOptions), patches: groups.map(\.patches))
        lastSnap = result
        for (g, layer) in groups.enumerated() {
            layer.recordGroupSnap(result, group: g)
            if let part = perGroup[g] { layer.usage.record(part) }
        }
        return result.output
    }

    /// One application with per-group options and patches (index g; nil: plain, none).
    public func snap(_ x: Tensor, options: [CodebookCallOptions]? = nil, patches: [[CodePatch]]? = nil) throws -> CodebookSnap {
        try snapGroups(x, options: options, patches: patches).combined
    }

    /// The parts of x that the groups read, in group order, and the head axis (2 for the
    /// (B, T, G, d) layout, nil for slices of the last axis). Throws `widthMismatch` otherwise.
    func split(_ x: Tensor) throws -> (parts: [Tensor], headAxis: Int?) {
        let g = groups.count
        let headAxis: Int?
        if x.rank == 4 && x.shape[2] == g && x.shape[3] == groupWidth {
            headAxis = 2
        } else if x.rank >= 2 && x.shape[x.rank - 1] == width {
            headAxis = nil
        } else {
            throw CodebookError.widthMismatch(codebook: name, site: "its input \(x.shape)", expected: width, actual: x.shape.last ?? 0)
        }
        let parts = headAxis.map { axis in (0..<g).map { x.narrowed(axis, start: $0, length: 1).squeezed(axis) } } ?? x.chunked(g, axis: -1)
        return (parts, headAxis)
    }

    /// `snap` and each group's own snap (nil entries when disabled).
    func snapGroups(_ x: Tensor, options: [CodebookCallOptions]?, patches: [[CodePatch]]?) throws -> (combined: CodebookSnap, perGroup: [CodebookSnap?]) {
        guard isEnabled else { return (CodebookSnap(output: x, normalized: nil, codes: nil, auxiliaryLosses: [:]), groups.map { _ in nil }) }
        let g = groups.count
        let (parts, headAxis) = try split(x)
        var results: [CodebookSnap] = []
        for (i, part) in parts.enumerated() {
            results.append(try groups[i].snap(part, options: options?[i] ?? .plain, patches: patches?[i] ?? []))
        }
        func combine(_ ts: [Tensor]) -> Tensor {
            headAxis.map { Tensor.stack(ts, axis: $0) } ?? Tensor.concatenate(ts, axis: -1)
        }
        var losses: [String: Tensor] = [:]
        for r in results { for (n, l) in r.auxiliaryLosses { losses[n] = losses[n].map { $0 + l } ?? l } }
        let ids = results.compactMap(\.codes)
        let idShape = [g] + (ids.first?.shape ?? [])
        let combined = CodebookSnap(output: combine(results.map(\.output)), normalized: combine(results.compactMap(\.normalized)),
                                    codes: IndexTensor(shape: idShape, values: ids.flatMap(\.values)), auxiliaryLosses: losses)
        return (combined, results)
    }
}

extension CodebookLayer {
    /// Records group `group`'s share of a group snap as this sub-codebook's `lastSnap` (codes only).
    func recordGroupSnap(_ snap: CodebookSnap, group: Int) {
        guard let codes = snap.codes else { return }
        let per = codes.values.count / Swift.max(codes.shape[0], 1)
        let slice = Array(codes.values[group * per ..< (group + 1) * per])
        setLastSnap(CodebookSnap(output: snap.output, normalized: nil, codes: IndexTensor(shape: Array(codes.shape.dropFirst()), values: slice),
                                 auxiliaryLosses: [:]))
    }
}
