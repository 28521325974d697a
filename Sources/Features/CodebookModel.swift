import Models
import Tensors

/// A codebook or a group of codebooks that can sit at a site.
public protocol CodebookSiteLayer: SiteLayer {
    /// A name for messages and lookups ("L1.mlp").
    var name: String { get }
    /// The width of the activation it reads.
    var width: Int { get }
    /// When false, the layer returns its input unchanged.
    var isEnabled: Bool { get set }
    /// The result of the latest call.
    var lastSnap: CodebookSnap? { get }
    /// Sets the objective of every codebook it holds.
    func setObjective(_ objective: CodebookObjective)
}

extension CodebookLayer: CodebookSiteLayer {
    public func setObjective(_ objective: CodebookObjective) { self.objective = objective }
}
extension GroupCodebookLayer: CodebookSiteLayer {}

/// What one pass of a codebook model produced.
public struct CodebookModelOutput {
    /// The logits (B, T, V).
    public var logits: Tensor
    /// Code ids per codebook name ("L0.mlp", "L0.attn_preproj.g2"), (B, T, k) each.
    public var codes: [String: IndexTensor]
    /// Auxiliary losses summed over the codebooks, by name (`CodebookObjective`); add them to
    /// the model's loss to train the codebooks as codebook-features does.
    public var auxiliaryLosses: [String: Tensor]
}

/// A decoder with codebooks inserted at the sites a list of `CodebookSpec` names (see
/// `CodebookPlacement` for the site of each placement). The codebooks are `SiteLayer`s in the
/// decoder's `insertions`: they run on every forward pass, their parameters are the model's
/// (`insertions.<site>.<placement>.…`), and each keeps its own options and objective.
public final class CodebookModel {
    /// One inserted codebook layer.
    public struct Entry {
        /// "L1.mlp", "L0.attn_preproj", "L0.qkv.q".
        public let name: String
        public let site: Site
        public let layer: any CodebookSiteLayer
    }

    public let model: DecoderModel
    public private(set) var entries: [Entry] = []

    /// Inserts one codebook layer per spec and snapped layer, in layer order. Throws
    /// `CodebookError` for a bad spec (groups that do not divide the site width, layers out of
    /// range) and the model's errors for a site it lacks.
    public init(model: DecoderModel, specs: [CodebookSpec], seed: UInt64 = 0) throws {
        self.model = model
        let layerCount = model.config.layers
        var inserted: [(Int, Int, CodebookSpec)] = []
        for (i, spec) in specs.enumerated() {
            for l in spec.layers ?? Array(0..<layerCount) {
                let layer = l < 0 ? l + layerCount : l
                guard layer >= 0 && layer < layerCount else {
                    throw CodebookError.invalidHyperparameter(field: "layers", value: "\(l)", allowed: "-\(layerCount)..<\(layerCount)")
                }
                inserted.append((layer, i, spec))
            }
        }
        for (layer, i, spec) in inserted.sorted(by: { ($0.0, $0.1) < ($1.0, $1.1) }) {
            try insert(spec, layer: layer, seed: seed &+ UInt64(layer * 1000 + i * 100))
        }
    }

    private func insert(_ spec: CodebookSpec, layer: Int, seed: UInt64) throws {
        let config = model.config
        for (j, component) in spec.placement.components.enumerated() {
            let site = Site(layer: layer, component: component)
            let width = try model.siteTable.spec(for: site).unitDimension
            var name = "L\(layer).\(spec.placement.rawValue)"
            if spec.placement == .qkv { name += "." + CodebookPlacement.qkvParts[j] }
            let groups = spec.groups == -1 ? (component == .queryOutput || component == .attentionValueOutput ? config.heads : config.kvHeads) : spec.groups
            let codebook: any CodebookSiteLayer
            if groups == 1 && spec.placement != .qkv {
                codebook = try CodebookLayer(name: name, width: width, codeCount: spec.codeCount, k: spec.k, similarity: spec.similarity,
                                             objective: spec.objective, seed: seed &+ UInt64(j))
            } else {
                codebook = try GroupCodebookLayer(name: name, width: width, groups: groups, codeCount: spec.codeCount, k: spec.k,
                                                  similarity: spec.similarity, objective: spec.objective, seed: seed &+ UInt64(j * 64))
            }
            try model.insertCodebook(codebook, at: site, name: spec.placement.rawValue)
            entries.append(Entry(name: name, site: site, layer: codebook))
        }
    }

    /// Turns every codebook on or off (off: the base model's forward).
    public var codebooksEnabled: Bool {
        get { model.insertions.enabled }
        set { model.insertions.enabled = newValue }
    }

    /// Every single codebook by name: plain layers under their entry name, the groups of a group
    /// layer as "<entry>.g<g>" (for `qkv`, "L<l>.qkv.g<c>" with the reference's fused index c).
    public var codebooks: [(name: String, layer: CodebookLayer)] {
        var list: [(String, CodebookLayer)] = []
        for entry in entries {
            switch entry.layer {
            case let single as CodebookLayer: list.append((entry.name, single))
            case let group as GroupCodebookLayer:
                for (g, sub) in group.groups.enumerated() { list.append(("\(entry.name).g\(g)", sub)) }
            default: break
            }
        }
        return list + qkvAliases()
    }

    /// The reference's names of the qkv sub-codebooks ("L0.qkv.g5").
    private func qkvAliases() -> [(String, CodebookLayer)] {
        var list: [(String, CodebookLayer)] = []
        let byName = Dictionary(entries.map { ($0.name, $0.layer) }, uniquingKeysWith: { a, _ in a })
        for entry in entries where entry.name.hasSuffix(".qkv.q") {
            let base = String(entry.name.dropLast(2))
            guard let group = entry.layer as? GroupCodebookLayer else { continue }
            let g = group.groups.count
            for c in 0..<(3 * g) {
                guard let (part, index) = CodebookPlacement.qkvGroup(c, groups: g, heads: model.config.heads, layout: model.config.projection),
                      let layer = byName[base + "." + CodebookPlacement.qkvParts[part]] as? GroupCodebookLayer else { continue }
                list.append(("\(base).g\(c)", layer.groups[index]))
            }
        }
        return list
    }

    /// The codebook called `name` (see `codebooks`), or nil.
    public func codebook(named name: String) -> CodebookLayer? {
        codebooks.first { $0.name == name }?.layer
    }

    /// Runs the model on token ids (B, T): logits, every codebook's ids, the summed auxiliary losses.
    public func forward(_ ids: IndexTensor) throws -> CodebookModelOutput {
        for (_, layer) in codebooks { layer.clearLastSnap() }
        for entry in entries { (entry.layer as? GroupCodebookLayer)?.clearLastSnap() }
        let logits = try model.forward(.tokens(ids), options: ForwardOptions()).logits
        var codes: [String: IndexTensor] = [:]
        for (name, layer) in codebooks { if let c = layer.lastSnap?.codes { codes[name] = c } }
        var losses: [String: Tensor] = [:]
        for entry in entries {
            for (n, l) in entry.layer.lastSnap?.auxiliaryLosses ?? [:] { losses[n] = losses[n].map { $0 + l } ?? l }
        }
        return CodebookModelOutput(logits: logits, codes: codes, auxiliaryLosses: losses)
    }
}
