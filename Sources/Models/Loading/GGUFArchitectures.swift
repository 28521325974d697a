import Tensors

/// How llama.cpp's GGUF architectures map onto `DecoderConfig`s and checkpoint keys: the
/// metadata (`llama.block_count`, `llama.rope.freq_base`, …) becomes the config, and llama.cpp's
/// tensor names (`token_embd`, `blk.N.attn_q`, …) the Hugging Face names of the family.
struct GGUFArchitecture {
    /// `general.architecture`.
    let name: String
    /// The decoder family whose checkpoint names the model uses.
    let family: DecoderFamily
    /// llama.cpp reorders the rows of q and k inside every head for its adjacent-pair rotary
    /// kernel; those architectures are un-permuted on load (README-more.md §4).
    let permutesQueryKey: Bool
    /// llama.cpp stores Gemma's RMSNorm weights as 1 + w; Intervene stores w.
    let normsStoredPlusOne: Bool

    static let supported: [String: GGUFArchitecture] = [
        "llama": GGUFArchitecture(name: "llama", family: LlamaFamilies.llama, permutesQueryKey: true, normsStoredPlusOne: false),
        "qwen2": GGUFArchitecture(name: "qwen2", family: LlamaFamilies.qwen2, permutesQueryKey: false, normsStoredPlusOne: false),
        "gemma": GGUFArchitecture(name: "gemma", family: GemmaFamilies.gemma, permutesQueryKey: false, normsStoredPlusOne: true),
        "gemma2": GGUFArchitecture(name: "gemma2", family: GemmaFamilies.gemma2, permutesQueryKey: false, normsStoredPlusOne: true),
    ]

    /// The decoder configuration the file's metadata describes.
    func config(_ m: GGUFMetadataReader, vocabulary: Int) throws -> DecoderConfig {
        let width = try m.int("embedding_length"), heads = try m.int("attention.head_count")
        let kvHeads = try m.optionalInt("attention.head_count_kv") ?? heads
        guard heads % kvHeads == 0 else { throw m.fail(m.full("attention.head_count_kv"), .int64(Int64(kvHeads)), "a divisor of attention.head_count (\(heads))") }
        let headDim = try m.optionalInt("attention.key_length") ?? width / heads
        if try m.optionalInt("attention.key_length") == nil, width % heads != 0 {
            throw m.fail(m.full("attention.head_count"), .int64(Int64(heads)), "a divisor of embedding_length (\(width))")
        }
        let rotaryDims = try m.optionalInt("rope.dimension_count") ?? headDim
        guard rotaryDims % 2 == 0, rotaryDims <= headDim else {
            throw m.fail(m.full("rope.dimension_count"), .int64(Int64(rotaryDims)), "an even number ≤ the head width \(headDim)")
        }
        let theta = try m.optionalFloat("rope.freq_base", minimum: 1) ?? 10_000
        let epsilon = try m.optionalFloat("attention.layer_norm_rms_epsilon", minimum: 0) ?? 1e-5
        let layers = try m.int("block_count")
        let tied = !m.file.contains("output.weight")
        let bias = m.file.contains("blk.0.attn_q.bias")
        var d = DecoderConfig(
            modelType: family.modelType, vocabularySize: vocabulary, width: width, layers: layers, heads: heads, kvHeads: kvHeads,
            headDim: headDim, intermediate: try m.int("feed_forward_length"), contextLength: try m.optionalInt("context_length") ?? 2048,
            norm: .rmsNorm(epsilon: epsilon),
            bias: ProjectionBias(query: bias, key: bias, value: bias, output: m.file.contains("blk.0.attn_output.bias"), mlpIn: false, mlpOut: false),
            positions: .rotary(RotaryOptions(dimensions: rotaryDims, theta: theta, scaling: try ropeScaling(m, dimensions: rotaryDims))),
            mlp: .gated(.silu), tiedHead: tied)
        switch name {
        case "gemma", "gemma2":
            d.norm = .rmsNormPlusOne(epsilon: epsilon)
            d.embeddingScale = Float(Double(width).squareRoot())
            d.mlp = .gated(.geluPytorchTanh)
            if name == "gemma2" {
                d.residual = .sandwich
                // llama.cpp scales queries by 1/√head_dim, except for the 46-layer 27B model,
                // whose query_pre_attn_scalar is hidden_size / heads.
                d.attention.queryScale = .inverseSquareRoot(Float(layers == 46 ? width / heads : headDim))
                d.attention.logitSoftCap = try m.optionalFloat("attn_logit_softcapping", minimum: .leastNonzeroMagnitude)
                d.finalLogitSoftCap = try m.optionalFloat("final_logit_softcapping", minimum: .leastNonzeroMagnitude)
                if let window = try m.optionalInt("attention.sliding_window") {
                    d.attention.windows = (0..<layers).map { $0 % 2 == 0 ? window : nil }
                }
            }
        default: break
        }
        return d
    }

    /// `rope.scaling.*` metadata, or llama.cpp's `rope_freqs` tensor (Llama 3.1's per-frequency factors).
    func ropeScaling(_ m: GGUFMetadataReader, dimensions: Int) throws -> RopeScaling {
        if m.file.contains("rope_freqs.weight") {
            return .frequencyFactors(try m.file.tensor("rope_freqs.weight").scalars)
        }
        guard let type = try m.optionalString("rope.scaling.type"), type != "none" else { return .none }
        let factor = try m.optionalFloat("rope.scaling.factor", minimum: 1) ?? 1
        switch type {
        case "linear": return .linear(factor: factor)
        default: throw m.fail(m.full("rope.scaling.type"), .string(type), "none or linear")
        }
    }

    /// The GGUF tensor holding the model parameter `key` (a Hugging Face name), or nil.
    func ggufName(_ key: String) -> String? {
        let fixed = ["model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight", "lm_head.weight": "output.weight"]
        if let name = fixed[key] { return name }
        let parts = key.split(separator: ".", maxSplits: 3).map(String.init)  // model, layers, N, rest
        guard parts.count == 4, parts[0] == "model", parts[1] == "layers", Int(parts[2]) != nil else { return nil }
        let rest = parts[3]
        let suffix = rest.hasSuffix(".bias") ? "bias" : "weight"
        let module = String(rest.dropLast(suffix.count + 1))
        var names = ["input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
                     "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
                     "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"]
        if name == "gemma2" {
            names["post_attention_layernorm"] = "post_attention_norm"
            names["pre_feedforward_layernorm"] = "ffn_norm"
            names["post_feedforward_layernorm"] = "post_ffw_norm"
        }
        return names[module].map { "blk.\(parts[2]).\($0).\(suffix)" }
    }

    /// For q and k weights of an architecture llama.cpp permuted, the GGUF row each row of the
    /// Hugging Face weight comes from (row h·hd + c·hd/2 + i ← h·hd + 2i + c, as `transform`);
    /// nil for every other tensor.
    func rowOrder(key: String, rows: Int, config: DecoderConfig) -> [Int]? {
        let isQuery = key.hasSuffix("self_attn.q_proj.weight"), isKey = key.hasSuffix("self_attn.k_proj.weight")
        guard permutesQueryKey, isQuery || isKey else { return nil }
        let heads = isQuery ? config.heads : config.kvHeads, hd = config.headDim
        guard heads * hd == rows else { return nil }
        var order: [Int] = []
        order.reserveCapacity(rows)
        for h in 0..<heads {
            for c in 0..<2 {
                for i in 0..<(hd / 2) { order.append(h * hd + 2 * i + c) }
            }
        }
        return order
    }

    /// The tensor as the Hugging Face model expects it: q and k rows un-permuted where llama.cpp
    /// permuted them (within each head, row h·hd + c·hd/2 + i ← h·hd + 2i + c), Gemma norms − 1.
    func transform(_ t: Tensor, key: String, config: DecoderConfig) -> Tensor {
        if normsStoredPlusOne && key.hasSuffix("norm.weight") { return t - 1 }
        let isQuery = key.hasSuffix("self_attn.q_proj.weight") || key.hasSuffix("self_attn.q_proj.bias")
        let isKey = key.hasSuffix("self_attn.k_proj.weight") || key.hasSuffix("self_attn.k_proj.bias")
        guard permutesQueryKey, isQuery || isKey else { return t }
        // Weights and biases alike: the converter permutes q and k rows (and their biases).
        let heads = isQuery ? config.heads : config.kvHeads
        let hd = config.headDim, columns = t.rank == 2 ? t.shape[1] : 1
        return t.reshaped([heads, hd / 2, 2, columns]).permuted([0, 2, 1, 3]).contiguous().reshaped(t.shape)
    }
}
