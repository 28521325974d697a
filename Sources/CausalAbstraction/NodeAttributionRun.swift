import Foundation
import Intervene
import Models
import Tensors

/// The work behind `NodeAttribution.run`: a base pass (gradients and the activations direct
/// logit attribution reads), a source cache, the integrated-gradients passes, and one pass per
/// residual-stream intervention for its latents' direct effects.
struct NodeAttributionRun {
    let model: any HookableModel
    let base: [Int]
    let source: [Int]?
    let metric: AttributionMetric
    let method: AttributionMethod
    let intervenable: IntervenableModel?
    let progress: ((Int, Int) -> Void)?
    let pass: AttributionPass
    let layers: Int

    init(model: any HookableModel, base: [Int], source: [Int]?, metric: AttributionMetric, method: AttributionMethod,
         intervenable: IntervenableModel?, progress: ((Int, Int) -> Void)?) throws {
        guard !base.isEmpty else { throw ExperimentError.invalid(file: "attribution", field: "base", value: "no tokens", expected: "at least one token") }
        if let source, source.count != base.count {
            throw ExperimentError.invalid(file: "attribution", field: "source", value: "\(source.count) tokens", expected: "as many tokens as the base (\(base.count))")
        }
        switch method {
        case .linear: break
        case .integratedGradients(let n, .input):
            guard n >= 1 else { throw ExperimentError.invalid(file: "attribution", field: "steps", value: "\(n)", expected: "an integer ≥ 1") }
            guard source != nil else {
                throw ExperimentError.invalid(file: "attribution", field: "method", value: method.description, expected: "a source (integrated gradients runs from the base to the source), or atp")
            }
        case .integratedGradients(_, let path):
            throw ExperimentError.invalid(file: "attribution", field: "path", value: path.rawValue, expected: "input for node attribution (layer and node paths are for the patching grid)")
        }
        if let intervenable, intervenable.model !== model {
            throw ExperimentError.invalid(file: "attribution", field: "latents", value: "an intervenable model over another model", expected: "an intervenable model wrapping the attributed model")
        }
        self.model = model
        self.base = base
        self.source = source
        self.metric = metric
        self.method = method
        self.intervenable = intervenable
        self.progress = progress
        pass = AttributionPass(model: model, intervenable: intervenable)
        layers = model.siteTable.layers
    }

    var neuronSites: [Site] { (0..<layers).map { Site(layer: $0, component: .mlpPostActivation) } }
    var headSites: [Site] { (0..<layers).map { Site(layer: $0, component: .tlZ) } }
    var decoder: DecoderModel? { model as? DecoderModel }

    /// Latent interventions at residual-stream sites: (key, site) for direct logit attribution.
    func residualLatentSites(_ decoder: DecoderModel) -> [(key: String, site: Site)] {
        guard let intervenable else { return [] }
        return zip(intervenable.keys, intervenable.config.representations).compactMap { key, r in
            DirectLogitAttribution.isResidualSite(r.component, model: decoder) ? (key, Site(layer: r.layer, component: r.component)) : nil
        }
    }

    func run() throws -> NodeAttribution {
        let start = Date()
        var igSteps = 0
        if case .integratedGradients(let n, _) = method { igSteps = n }
        let latentDLA = decoder.map { residualLatentSites($0) } ?? []
        let total = 1 + (source == nil ? 0 : 1) + (igSteps > 0 ? 1 : 0) + latentDLA.count
        var done = 0
        func step() { done += 1; progress?(done, total) }

        let nodeSites = neuronSites + headSites
        let dlaSites = decoder == nil ? [] : DirectLogitAttribution.sites(layers: layers)
        let basePass = try pass.run(base, sites: nodeSites + dlaSites) { metric.objective($0.logits) }
        step()
        var gradients = basePass.gradients, latentGradients = basePass.latents.mapValues(\.gradient)
        var weights = basePass.activations, latentWeights = basePass.latents.mapValues(\.value)
        if let source {
            let embedding = Site(layer: 0, component: .tokenEmbedding)
            let cached = try pass.cache(source, sites: nodeSites + (igSteps > 0 ? [embedding] : []), source: source)
            step()
            for site in nodeSites { weights[site] = cached.activations[site]! - basePass.activations[site]! }
            latentWeights = try basePass.latents.reduce(into: [:]) { out, entry in
                guard let s = cached.latents[entry.key], s.shape == entry.value.value.shape else {
                    throw ExperimentError.invalid(file: "attribution", field: "latents of \(entry.key)", value: "no matching source latents",
                                                  expected: "latents of the same shape on the source")
                }
                out[entry.key] = s - entry.value.value
            }
            if igSteps > 0 {
                guard let sourceEmbedding = cached.activations[embedding] else {
                    throw ExperimentError.invalid(file: "attribution", field: "path", value: "input", expected: "a model with token embeddings (hook_embed)")
                }
                let averaged = try integratedGradients(steps: igSteps, sourceEmbedding: sourceEmbedding, sites: nodeSites)
                step()
                gradients = averaged.gradients
                latentGradients = averaged.latents
            }
        }
        let neurons = neuronSites.map { (gradients[$0]! * weights[$0]!).reshaped([base.count, -1]) }
        let heads = headSites.map { site -> Tensor in
            let product = gradients[site]! * weights[site]!   // (1, S, H, d)
            return product.sum(axis: 3).reshaped([base.count, -1])
        }
        let latents = try latentAttributions(gradients: latentGradients, weights: latentWeights)
        var dla: DirectLogitAttribution?
        if let decoder {
            let (parts, pullback) = DirectLogitAttribution.compute(model: decoder, activations: basePass.activations, gradients: basePass.gradients)
            var latentParts: [DirectLogitAttribution.Part] = []
            for (key, site) in latentDLA {
                latentParts += try latentDirectEffects(key: key, site: site, pullback: pullback, values: basePass.latents[key]?.value)
                step()
            }
            dla = parts.adding(latents: latentParts)
        }
        return NodeAttribution(method: method, metric: Double(basePass.value), neurons: neurons, heads: heads, latents: latents,
                               directLogitAttribution: dla, seconds: Date().timeIntervalSince(start))
    }

    /// Gradients at `sites` and at the latents, averaged over the integrated-gradients points
    /// x(α_k) = e_base + α_k (e_src − e_base) of the token embeddings (one batched pass).
    func integratedGradients(steps n: Int, sourceEmbedding: Tensor, sites: [Site]) throws -> (gradients: [Site: Tensor], latents: [String: Tensor]) {
        let alphas = Tensor(shape: [n, 1, 1], values: AttributionMethod.points(n))
        let hooks = HookRegistry()
        hooks.add(layer: 0, tap: .tokenEmbedding) { a, _ in a = a + alphas * (sourceEmbedding - a) }
        let result = try pass.run(base, rows: n, sites: sites, hooks: hooks, source: source) { metric.objective($0.logits) }
        func mean(_ g: Tensor) -> Tensor { g.mean(axis: 0, keepDims: true) }
        return (result.gradients.mapValues(mean), result.latents.mapValues { mean($0.gradient) })
    }

    /// Per intervention with latents (rows, S, L): attribution (S, L) = weight ⊙ gradient.
    func latentAttributions(gradients: [String: Tensor], weights: [String: Tensor]) throws -> [LatentAttribution] {
        guard let intervenable else { return [] }
        return try zip(intervenable.keys, intervenable.config.representations).compactMap { key, r in
            guard let g = gradients[key], let w = weights[key] else { return nil }
            guard g.rank == 3, g.shape[1] == base.count else {
                throw ExperimentError.invalid(file: "attribution", field: "latents of \(key)", value: "shape \(g.shape)",
                                              expected: "(batch, positions, latents): an intervention over the whole activation at every position")
            }
            return LatentAttribution(key: key, site: Site(layer: r.layer, component: r.component), values: (g * w).reshaped([base.count, -1]))
        }
    }

    /// z_i ⟨ũ, d_i⟩ for each latent of intervention `key` at the last position: z_i times the
    /// gradient of ⟨ũ, x_site⟩ at the last position with respect to z_i.
    func latentDirectEffects(key: String, site: Site, pullback: [Float], values: Tensor?) throws -> [DirectLogitAttribution.Part] {
        guard let values else { return [] }
        let spec = try model.siteTable.spec(for: site)
        let direction = Tensor(pullback)
        let length = base.count
        var captured: Tensor?
        let hooks = HookRegistry()
        hooks.add(layer: site.layer, tap: spec.tap) { a, _ in captured = SiteViews.view(a, spec.view) }
        let result = try pass.run(base, sites: [], hooks: hooks, source: source) { _ in
            guard let x = captured else { throw InterventionError.siteNotReached(key: key, site: site.description) }
            return (x.narrowed(1, start: length - 1, length: 1).reshaped([-1]) * direction).sum()
        }
        guard let g = result.latents[key]?.gradient else { return [] }
        let z = values.narrowed(1, start: length - 1, length: 1).reshaped([-1]).scalars
        let slope = g.narrowed(1, start: length - 1, length: 1).reshaped([-1]).scalars
        return z.indices.compactMap { i in
            z[i] == 0 ? nil : DirectLogitAttribution.Part(kind: "latent", layer: site.layer, index: i, value: Double(z[i] * slope[i]), key: key)
        }
    }
}
