import Tensors

/// Hyperparameters of pyvene's `GRUForClassification`.
public struct GRUClassifierConfiguration: Sendable {
    public var width: Int
    public var layers: Int
    public var labels: Int
    public var bias: Bool

    public init(width: Int, layers: Int, labels: Int, bias: Bool = true) {
        self.width = width
        self.layers = layers
        self.labels = labels
        self.bias = bias
    }

    /// Reads config.json fields (h_dim, n_layer, n_labels).
    public init(_ c: ModelConfig) throws {
        self.init(width: try c.int("h_dim"), layers: try c.int("n_layer"), labels: try c.int(anyOf: ["n_labels", "num_labels"]),
                  bias: try c.bool("include_bias", default: true))
        if try c.bool("include_emb", default: false) {
            throw ModelError.invalidConfig(path: c.path, field: "include_emb", value: "true", expected: "false (GRU classifiers take inputs_embeds)")
        }
    }
}

/// pyvene's GRU classifier. For each time step t and layer l:
///
///     x = input[:, t] (l = 0) or h[l−1];  (xr, xu, xn) = x2h(x);  (hr, hu, hn) = h2h(h[l])
///     r = σ(xr + hr);  u = σ(xu + hu);  n = tanh(xn + r ⊙ hn);  h[l] = u ⊙ h[l] + (1 − u) ⊙ n
///
/// and logits = score(h[L−1]) at the last step (no bias). Every cell site fires once per step
/// with a (B, width) activation (unit "t").
public final class GRUClassifier: HookableModel {
    public let configuration: GRUClassifierConfiguration
    public let modelType = "gru"
    public let siteTable: SiteTable
    let x2h: [Linear]
    let h2h: [Linear]
    let score: Linear

    public init(_ c: GRUClassifierConfiguration) {
        configuration = c
        x2h = (0..<c.layers).map { _ in Linear(inFeatures: c.width, outFeatures: 3 * c.width, bias: c.bias) }
        h2h = (0..<c.layers).map { _ in Linear(inFeatures: c.width, outFeatures: 3 * c.width, bias: c.bias) }
        score = Linear(inFeatures: c.width, outFeatures: c.labels, bias: false)
        let w = c.width
        func cell(_ component: Component, tap: Component? = nil, view: SiteView = .whole, width: Int = w) -> SiteSpec {
            SiteSpec(component: component, tap: tap, view: view, unitDimension: width, perTimeStep: true)
        }
        siteTable = SiteTable(modelName: "gru", layers: c.layers, specs: [
            cell(.cellInput), cell(.cellOutput),
            cell(.resetGateInput), cell(.updateGateInput), cell(.newGateInput),
            cell(.resetGateOutput), cell(.updateGateOutput), cell(.newGateOutput),
            cell(.x2hOutput, width: 3 * w), cell(.h2hOutput, width: 3 * w),
            cell(.resetX2hOutput, tap: .x2hOutput, view: .third(0)), cell(.updateX2hOutput, tap: .x2hOutput, view: .third(1)),
            cell(.newX2hOutput, tap: .x2hOutput, view: .third(2)),
            cell(.resetH2hOutput, tap: .h2hOutput, view: .third(0)), cell(.updateH2hOutput, tap: .h2hOutput, view: .third(1)),
            cell(.newH2hOutput, tap: .h2hOutput, view: .third(2)),
        ])
    }

    public func visitParameters(_ v: (String, Parameter) -> Void) {
        for l in 0..<configuration.layers {
            visit(x2h[l], prefix: "gru.cells.\(l).x2h", v)
            visit(h2h[l], prefix: "gru.cells.\(l).h2h", v)
        }
        visit(score, prefix: "score", v)
    }

    public func forward(_ input: ModelInput, options: ForwardOptions) throws -> ModelOutput {
        let c = configuration
        guard case .embeddings(let x) = input, x.rank == 3, x.shape[2] == c.width, x.shape[1] > 0 else {
            throw ModelError.invalidInput("the gru classifier takes input embeddings (B, S, \(c.width)) with S > 0")
        }
        let batch = x.shape[0], steps = x.shape[1], w = c.width
        let hooks = options.hooks
        var state = [Tensor](repeating: Tensor.zeros([batch, w]), count: c.layers)
        var outputs = [[Tensor]](repeating: [], count: c.layers)
        for t in 0..<steps {
            for l in 0..<c.layers {
                var input = l == 0 ? x.narrowed(1, start: t, length: 1).reshaped([batch, w]) : state[l - 1]
                try hooks(l, .cellInput, step: t, &input)
                var xg = x2h[l](input)
                try hooks(l, .x2hOutput, step: t, &xg)
                var hg = h2h[l](state[l])
                try hooks(l, .h2hOutput, step: t, &hg)
                let xs = xg.chunked(3, axis: 1), hs = hg.chunked(3, axis: 1)
                var resetIn = xs[0] + hs[0]
                try hooks(l, .resetGateInput, step: t, &resetIn)
                var reset = resetIn.sigmoid()
                try hooks(l, .resetGateOutput, step: t, &reset)
                var updateIn = xs[1] + hs[1]
                try hooks(l, .updateGateInput, step: t, &updateIn)
                var update = updateIn.sigmoid()
                try hooks(l, .updateGateOutput, step: t, &update)
                var newIn = xs[2] + reset * hs[2]
                try hooks(l, .newGateInput, step: t, &newIn)
                var new = newIn.tanh()
                try hooks(l, .newGateOutput, step: t, &new)
                var h = update * state[l] + (1 - update) * new
                try hooks(l, .cellOutput, step: t, &h)
                state[l] = h
                if options.outputHiddenStates { outputs[l].append(h) }
            }
        }
        let logits = score(state[c.layers - 1])
        let hidden = options.outputHiddenStates ? outputs.map { Tensor.stack($0, axis: 1) } : []
        return ModelOutput(output: logits, hiddenStates: hidden)
    }
}
