import Tensors

/// A decoder family: how a config.json becomes a `DecoderConfig`, and where the family's
/// checkpoints keep each weight. Nothing else — the forward pass is `DecoderModel`'s.
///
/// Register your own from outside the package:
///
///     let family = DecoderFamily(modelType: "my_lm", keyMap: .llamaStyle()) { config in
///         DecoderConfig(modelType: "my_lm", vocabularySize: try config.int("vocab_size"), …)
///     }
///     ArchitectureRegistry.shared.register(family.architecture)
public struct DecoderFamily: Sendable {
    /// config.json's model_type.
    public let modelType: String
    /// Where checkpoints keep the weights.
    public let keyMap: DecoderKeyMap
    /// Reads config.json into a decoder configuration, with typed errors naming bad fields.
    public let config: @Sendable (ModelConfig) throws -> DecoderConfig

    /// A family from its model_type, key map and config.json reader.
    public init(modelType: String, keyMap: DecoderKeyMap, config: @escaping @Sendable (ModelConfig) throws -> DecoderConfig) {
        self.modelType = modelType
        self.keyMap = keyMap
        self.config = config
    }

    /// Builds the model a config.json describes (weights unloaded).
    public func model(_ config: ModelConfig) throws -> DecoderModel {
        try DecoderModel(try self.config(config), keyMap: keyMap)
    }

    /// The registry entry that builds and loads this family.
    public var architecture: Architecture {
        let keyMap = self.keyMap
        return Architecture(modelType: modelType, ignoreUnexpected: { keyMap.isIgnored($0) }) { try self.model($0) }
    }

    /// The families this library ships.
    public static let builtIn: [DecoderFamily] = [
        GPT2Family.family, GPTNeoXFamily.family, GPTNeoFamily.family,
        LlamaFamilies.llama, LlamaFamilies.mistral, LlamaFamilies.qwen2, LlamaFamilies.olmo,
        GemmaFamilies.gemma, GemmaFamilies.gemma2,
    ]
}

extension ModelConfig {
    /// Rotary options from `rope_theta` (or `thetaField`), `rope_scaling` and the rotated
    /// fraction of each head (`fractionField`, default `defaultFraction`).
    public func rotary(headDim: Int, thetaField: String = "rope_theta", fractionField: String = "partial_rotary_factor",
                       defaultFraction: Double = 1) throws -> RotaryOptions {
        let theta = try float(thetaField, default: 10000, minimum: 1)
        var fraction = defaultFraction
        if let raw = json[fractionField], !raw.isNull {
            guard let f = raw.doubleValue, f > 0, f <= 1 else { throw fail(fractionField, raw, "a number in (0, 1]") }
            fraction = f
        }
        let dimensions = Int(Double(headDim) * fraction)
        guard dimensions % 2 == 0 else {
            guard let raw = json[fractionField], !raw.isNull else {
                throw fail("head_dim", .int(headDim), "an even head width (rotary embeddings rotate pairs of features)")
            }
            throw fail(fractionField, raw, "a fraction of head_dim \(headDim) that rotates an even number of features (got \(dimensions))")
        }
        return RotaryOptions(dimensions: dimensions, theta: theta, scaling: try ropeScaling())
    }

    /// `rope_scaling`: null, or {"rope_type"/"type": "default" | "linear" | "dynamic" | "llama3", …}.
    public func ropeScaling() throws -> RopeScaling {
        guard let raw = json["rope_scaling"], !raw.isNull else { return .none }
        guard let object = raw.objectValue else { throw fail("rope_scaling", raw, "null or an object") }
        let sub = ModelConfig(json: object, path: path + " rope_scaling")
        let typeField = object["rope_type"] != nil ? "rope_type" : "type"
        let type = try sub.string(typeField)
        switch type {
        case "default": return .none
        case "linear": return .linear(factor: try sub.float("factor", minimum: 1))
        case "dynamic":
            // transformers 4.51 grows the base past max_position_embeddings (it ignores
            // rope_scaling.original_max_position_embeddings for this type).
            return .dynamic(factor: try sub.float("factor", minimum: 1), originalMaxPositions: try int("max_position_embeddings"))
        case "llama3":
            let low = try sub.float("low_freq_factor", minimum: 0), high = try sub.float("high_freq_factor", minimum: 0)
            guard high > low else { throw sub.fail("high_freq_factor", object["high_freq_factor"], "a number > low_freq_factor (\(low))") }
            return .llama3(factor: try sub.float("factor", minimum: 1), lowFrequencyFactor: low, highFrequencyFactor: high,
                           originalMaxPositions: try sub.int("original_max_position_embeddings"))
        default:
            throw sub.fail(typeField, object[typeField], "one of default, linear, dynamic, llama3")
        }
    }

    /// The window of every layer from a single optional `field` (null: no window).
    func windowOnEveryLayer(_ field: String, layers: Int) throws -> [Int?] {
        guard let w = try optionalInt(field) else { return [] }
        return Array(repeating: w, count: layers)
    }

    /// Number of query heads, key/value heads and the head width, checked against each other.
    /// `defaultHeadDim` is the family's default for an absent `head_dim` (Gemma: 256); nil:
    /// hidden_size / num_attention_heads.
    func headShape(width: Int, heads: Int, kvField: String = "num_key_value_heads",
                   defaultHeadDim: Int? = nil) throws -> (kvHeads: Int, headDim: Int) {
        let kvHeads = try optionalInt(kvField) ?? heads
        try requireDivisor(kvField, kvHeads, of: "num_attention_heads", heads)
        if let headDim = try optionalInt("head_dim") ?? (json["head_dim"] == nil ? defaultHeadDim : nil) { return (kvHeads, headDim) }
        try requireDivisor("num_attention_heads", heads, of: "hidden_size", width)
        return (kvHeads, width / heads)
    }
}
