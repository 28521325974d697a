/// How a component's activation is viewed from the tensor its model hands to hooks.
public enum SiteView: Hashable, Sendable {
    /// The tapped tensor as is: (B, S, width) for sequence models, (B, width) per step for cells.
    case whole
    /// One third of the last dimension (pyvene's `split_three`): chunk k of width/3.
    case third(Int)
    /// The last dimension split into `heads` heads, viewed (B, heads, S, head_dim).
    case heads(Int)
    /// The last dimension split into `heads` heads, viewed (B, S, heads, head_dim) — the layout
    /// TransformerLens gives `attn.hook_q/k/v/z`. Interventions see the tap as is, (B, S, heads·d).
    case positionHeads(Int)
    /// A head-major tap (B, H, S, X) viewed position-major (B, S, H, X) (TransformerLens's
    /// `attn.hook_result`).
    case positionMajor
}

/// The layers at which a component exists.
public enum SiteLayers: Hashable, Sendable {
    /// Every layer.
    case all
    /// Before the first block (embeddings): layer 0 only.
    case first
    /// After the last block (the final norm): the last layer only.
    case last
}

/// What a model exposes at one component.
public struct SiteSpec: Hashable, Sendable {
    /// The component's name.
    public let component: Component
    /// The component whose tensor the model actually hands to hooks (head forms and thirds share
    /// the tensor of a merged component).
    public let tap: Component
    /// How the component is viewed from the tapped tensor.
    public let view: SiteView
    /// Per-unit dimension: feature width of one position, or of one head for head views. This is
    /// the real width of the data, used to size interventions.
    public let unitDimension: Int
    /// The per-unit dimension pyvene records for this component (for pyvene compatibility;
    /// pyvene reports hidden_size for key/value under grouped-query attention).
    public let pyveneDimension: Int
    /// True when the activation is produced once per time step (recurrent cells, unit "t").
    public let perTimeStep: Bool
    /// The layers at which the component exists.
    public let layers: SiteLayers
    /// The shape of the component's view, in words (TransformerLens style), for documentation
    /// and error messages: e.g. "[batch, pos, head_index, d_head]".
    public let shape: String

    public init(component: Component, tap: Component? = nil, view: SiteView = .whole, unitDimension: Int,
                pyveneDimension: Int? = nil, perTimeStep: Bool = false, layers: SiteLayers = .all, shape: String = "") {
        self.component = component
        self.tap = tap ?? component
        self.view = view
        self.unitDimension = unitDimension
        self.pyveneDimension = pyveneDimension ?? unitDimension
        self.perTimeStep = perTimeStep
        self.layers = layers
        self.shape = shape
    }
}

extension SiteSpec {
    /// True when the component is seen head-major, (B, H, S, X): head views of merged taps, and
    /// the natively head-major taps (attention weights and scores, per-head results).
    public var isHeadMajor: Bool {
        if case .heads = view { return true }
        return view == .whole && [Component.attentionWeight, .attentionScores, .headResult].contains(tap)
    }
}

/// Every component an architecture exposes, with the number of layers.
public struct SiteTable: Sendable {
    /// Components by name.
    public let specs: [Component: SiteSpec]
    /// Number of layers (valid layer indices are 0..<layers).
    public let layers: Int
    /// Architecture name used in messages.
    public let modelName: String

    public init(modelName: String, layers: Int, specs: [SiteSpec]) {
        self.modelName = modelName
        self.layers = layers
        self.specs = Dictionary(uniqueKeysWithValues: specs.map { ($0.component, $0) })
    }

    /// Components in name order.
    public var components: [Component] { specs.keys.sorted() }

    /// The spec of `site`, or a thrown `SiteError` naming what is allowed. Negative layers are
    /// not accepted here; `resolved(_:)` turns them into layer indices first.
    public func spec(for site: Site) throws -> SiteSpec {
        guard let spec = specs[site.component] else {
            throw SiteError.unknownComponent(site.component, model: modelName, known: components)
        }
        guard site.layer >= 0 && site.layer < layers else {
            throw SiteError.layerOutOfRange(layer: site.layer, model: modelName, layers: layers)
        }
        switch spec.layers {
        case .all: break
        case .first where site.layer != 0, .last where site.layer != layers - 1:
            throw SiteError.wrongLayer(site.component, layer: site.layer, model: modelName, only: spec.layers == .first ? 0 : layers - 1)
        default: break
        }
        return spec
    }

    /// `site` with a negative layer counted from the end (−1 is the last layer), as Python
    /// indexing does; throws when it is still out of range.
    public func resolved(_ site: Site) throws -> Site {
        guard site.layer < 0 else { return site }
        guard site.layer + layers >= 0 else { throw SiteError.layerOutOfRange(layer: site.layer, model: modelName, layers: layers) }
        return Site(layer: site.layer + layers, component: site.component)
    }

    /// The tap points where `sites` are read, each with the sites (as given) and specs read there.
    public func tapPoints(for sites: [Site]) throws -> [TapPoint: [(Site, SiteSpec)]] {
        var wanted: [TapPoint: [(Site, SiteSpec)]] = [:]
        for site in sites {
            let resolved = try resolved(site)
            let spec = try spec(for: resolved)
            wanted[TapPoint(layer: resolved.layer, tap: spec.tap), default: []].append((site, spec))
        }
        return wanted
    }
}
