import Tensors

/// A layer that sits at a site of a model and transforms the activation there — a codebook or a
/// sparse autoencoder inserted into a network and trained with it. It sees the activation in
/// the site's view (e.g. (B, H, S, d) at a head site) and returns a tensor of the same shape.
public protocol SiteLayer: Module {
    /// The activation that continues through the model.
    func callAsFunction(_ activation: Tensor) throws -> Tensor
}

/// The layers inserted into one model, by site. Inserted layers are part of the model: they run
/// on every forward pass before any hooks at their site (so interventions and caches see their
/// output), and their parameters are the model's, under `insertions.<site>.<name>.…`.
public final class SiteInsertions: ActivationHooks {
    /// One inserted layer.
    public struct Entry {
        public let site: Site
        public let name: String
        public let layer: any SiteLayer
        let spec: SiteSpec
    }

    private let table: SiteTable
    private var byPoint: [TapPoint: [Entry]] = [:]
    /// Inserted layers in insertion order.
    public private(set) var entries: [Entry] = []
    /// When false, inserted layers are skipped (the model runs as if they were not there).
    public var enabled = true

    public init(table: SiteTable) { self.table = table }

    /// Inserts `layer` at `site` under `name` (unique per site). Throws a `SiteError` for a site
    /// the model does not have, and `ModelError.invalidInput` for a taken name.
    public func insert(_ layer: any SiteLayer, at site: Site, name: String) throws {
        let resolved = try table.resolved(site)
        let spec = try table.spec(for: resolved)
        guard !entries.contains(where: { $0.site == resolved && $0.name == name }) else {
            throw ModelError.invalidInput("a layer named '\(name)' is already inserted at \(resolved)")
        }
        let entry = Entry(site: resolved, name: name, layer: layer, spec: spec)
        entries.append(entry)
        byPoint[TapPoint(layer: resolved.layer, tap: spec.tap), default: []].append(entry)
    }

    /// Removes every layer inserted at `site` (all sites when nil; negative layers count from
    /// the end).
    public func remove(at site: Site? = nil) {
        let resolved = site.flatMap { try? table.resolved($0) }
        guard site == nil || resolved != nil else { return }
        entries.removeAll { resolved == nil || $0.site == resolved }
        byPoint = Dictionary(grouping: entries) { TapPoint(layer: $0.site.layer, tap: $0.spec.tap) }
    }

    public func isActive(_ point: TapPoint) -> Bool { enabled && byPoint[point] != nil }

    public func visit(_ point: TapPoint, step: Int?, _ activation: inout Tensor) throws {
        for entry in byPoint[point] ?? [] {
            let viewed = SiteViews.view(activation, entry.spec.view)
            let out = try entry.layer(viewed)
            guard out.shape == viewed.shape else {
                throw ModelError.invalidInput("the layer '\(entry.name)' inserted at \(entry.site) returned shape \(out.shape) for input \(viewed.shape)")
            }
            activation = SiteViews.replacing(in: activation, entry.spec.view, with: out)
        }
    }

    /// Inserted layers are part of the model: on their own they never let a pass stop early
    /// (in a chain with other hooks, those decide; see `wrapping`).
    public func canStop(afterLayer layer: Int) -> Bool { false }

    /// The inserted layers as children ("insertions.L3.block_output.codebook").
    public var children: [(name: String, module: any Module)] {
        entries.map { ("insertions.\($0.site).\($0.name)", $0.layer) }
    }

    /// `options` with the inserted layers running before the hooks already set.
    func wrapping(_ options: ForwardOptions) -> ForwardOptions {
        guard !entries.isEmpty && enabled else { return options }
        var copy = options
        copy.hooks = options.hooks.map { HookChain([self, $0], stopDeciders: [$0]) } ?? self
        return copy
    }
}
