import Tensors

/// Hyperparameters of pyvene's `MLPForClassification`.
public struct MLPClassifierConfiguration: Sendable, Codable {
    public var width: Int
    public var layers: Int
    public var classes: Int
    public var activation: Activation
    public var bias: Bool
    public var squeezeOutput: Bool

    public init(width: Int, layers: Int, classes: Int, activation: Activation = .relu, bias: Bool = true, squeezeOutput: Bool = true) {
        self.width = width
        self.layers = layers
        self.classes = classes
        self.activation = activation
        self.bias = bias
        self.squeezeOutput = squeezeOutput
    }

    /// Reads config.json fields (h_dim, n_layer, num_classes / num_labels, activation_function).
    public init(_ c: ModelConfig) throws {
        self.init(width: try c.int("h_dim"), layers: try c.int("n_layer"),
                  classes: try c.int(anyOf: ["num_classes", "num_labels"]),
                  activation: try c.activation("activation_function", default: .gelu),
                  bias: try c.bool("include_bias", default: true), squeezeOutput: try c.bool("squeeze_output", default: true))
        if try c.bool("include_emb", default: false) {
            throw ModelError.invalidConfig(path: c.path, field: "include_emb", value: "true", expected: "false (MLP classifiers take inputs_embeds)")
        }
    }

    /// The config.json that `init(_:)` reads back (pyvene's MLPConfig field names).
    public var configJSON: String {
        """
        {"model_type": "mlp", "architectures": ["MLPForClassification"], "h_dim": \(width), "n_layer": \(layers),
         "num_classes": \(classes), "activation_function": "\(activation.rawValue)", "include_bias": \(bias),
         "squeeze_output": \(squeezeOutput), "include_emb": false, "pdrop": 0.0}
        """
    }
}

/// pyvene's MLP classifier: inputs_embeds (B, 1, width) → `layers` × act(Linear) → Linear to
/// classes, squeezed to (B, classes). Sites per layer: block_input, mlp_activation, block_output
/// (the last two hold the same value; mlp_activation is tapped first).
public final class MLPClassifier: HookableModel {
    public let configuration: MLPClassifierConfiguration
    public let modelType = "mlp"
    public let siteTable: SiteTable
    let hiddenLayers: [Linear]
    let score: Linear

    public init(_ c: MLPClassifierConfiguration) {
        configuration = c
        hiddenLayers = (0..<c.layers).map { _ in Linear(inFeatures: c.width, outFeatures: c.width, bias: c.bias) }
        score = Linear(inFeatures: c.width, outFeatures: c.classes, bias: c.bias)
        siteTable = SiteTable(modelName: "mlp", layers: c.layers, specs: [
            SiteSpec(component: .blockInput, unitDimension: c.width),
            SiteSpec(component: .blockOutput, unitDimension: c.width),
            SiteSpec(component: .mlpActivation, unitDimension: c.width),
        ])
    }

    public func visitParameters(_ v: (String, Parameter) -> Void) {
        for (i, layer) in hiddenLayers.enumerated() { visit(layer, prefix: "mlp.h.\(i).ff1", v) }
        visit(score, prefix: "score", v)
    }

    /// Initialises weights like torch.nn.Linear (uniform ±1/√fan_in), reproducibly.
    public func initializeLikeTorch(seed: UInt64) {
        var g = RandomGenerator(seed: seed)
        visitParameters { _, p in
            let bound = 1 / Float(configuration.width).squareRoot()
            p.assign(Tensor.randomUniform(p.shape, low: -bound, high: bound, using: &g))
        }
    }

    public func forward(_ input: ModelInput, options: ForwardOptions) throws -> ModelOutput {
        guard case .embeddings(var h) = input else {
            throw ModelError.invalidInput("the mlp classifier takes input embeddings (B, 1, \(configuration.width)), not token ids")
        }
        if h.rank == 2 { h = h.unsqueezed(1) }
        guard h.rank == 3, h.shape[2] == configuration.width else {
            throw ModelError.invalidInput("mlp input must be (B, S, \(configuration.width)), got \(h.shape)")
        }
        let hooks = options.hooks
        var hidden: [Tensor] = []
        for (l, layer) in hiddenLayers.enumerated() {
            if options.outputHiddenStates { hidden.append(h) }
            try hooks(l, .blockInput, &h)
            h = configuration.activation(layer(h))
            try hooks(l, .mlpActivation, &h)
            try hooks(l, .blockOutput, &h)
            if hooks.canStop(afterLayer: l) { return ModelOutput(output: h, hiddenStates: hidden, stoppedEarly: true) }
        }
        if options.outputHiddenStates { hidden.append(h) }
        var logits = score(h)
        if configuration.squeezeOutput && logits.shape[1] == 1 { logits = logits.squeezed(1) }
        return ModelOutput(output: logits, hiddenStates: hidden)
    }
}
