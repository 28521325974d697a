import Intervene
import Models
import Tensors

/// One forward and backward pass for attribution: `rows` copies of a prompt, optionally run
/// through an intervenable model (whose interventions' "latents" are probed), with gradient
/// probes at model sites and extra hooks (a path's interpolation) before them.
struct AttributionPass {
    /// What one pass yields, per site in the site's view with the rows as the batch.
    struct Result {
        var gradients: [Site: Tensor]
        var activations: [Site: Tensor]
        /// Per intervention key: the latents (rows, …, L) and the objective's gradient there.
        var latents: [String: (value: Tensor, gradient: Tensor)]
        /// The objective (summed over rows).
        var value: Float
    }

    let model: any HookableModel
    let intervenable: IntervenableModel?
    /// The side output probed on interventions.
    static let latentName = "latents"

    func input(_ ids: [Int], rows: Int) -> ModelInput {
        .tokens(IndexTensor(shape: [rows, ids.count], values: Array((0..<rows).map { _ in ids }.joined())))
    }

    /// Runs the pass; `objective` maps the output to a scalar (its gradient is read); `hooks` run
    /// before the probes; `source` feeds interventions that read a source.
    func run(_ ids: [Int], rows: Int = 1, sites: [Site], hooks: (any ActivationHooks)? = nil, source: [Int]? = nil,
             objective: (ModelOutput) throws -> Tensor) throws -> Result {
        let probes = try GradientProbes(sites: sites, table: model.siteTable)
        var options = ForwardOptions()
        options.hooks = hooks.map { HookChain([$0, probes]) } ?? probes
        let sideProbes = SideOutputProbes(names: [Self.latentName])
        let output: ModelOutput
        if let intervenable {
            output = try intervenable.forward(base: input(ids, rows: rows), sources: sources(source, rows: rows), options: options,
                                              sideOutputProbes: sideProbes).intervened
        } else {
            output = try model.forward(input(ids, rows: rows), options: options)
        }
        let value = try objective(output)
        guard value.count == 1 else { throw GradientError.objectiveNotScalar(shape: value.shape) }
        if value.requiresGrad { value.backward() }
        let (gradients, activations) = probes.collect()
        let latents = sideProbes.collect().compactMapValues { $0[Self.latentName] }
        return Result(gradients: gradients, activations: activations, latents: latents, value: value.scalars[0])
    }

    /// Activations at `sites` and each intervention's latents on `ids` (no gradients).
    func cache(_ ids: [Int], sites: [Site], source: [Int]? = nil) throws -> (activations: [Site: Tensor], latents: [String: Tensor]) {
        try Tensor.withoutGradients {
            guard let intervenable else { return (try model.runWithCache(input(ids, rows: 1), sites: sites).cache, [:]) }
            let recorder = try GradientProbes(sites: sites, table: model.siteTable)
            var options = ForwardOptions()
            options.hooks = recorder
            let out = try intervenable.forward(base: input(ids, rows: 1), sources: sources(source, rows: 1), options: options)
            return (recorder.collect().activations, out.sideOutputs.compactMapValues { $0[Self.latentName] })
        }
    }

    /// The source input for interventions that read one (nil when none does).
    func sources(_ source: [Int]?, rows: Int) -> [ModelInput]? {
        guard let intervenable, let source, intervenable.interventions.contains(where: { $0.sourceRequirement == .source }) else { return nil }
        return [input(source, rows: rows)]
    }
}
