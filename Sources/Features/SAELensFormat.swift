import Foundation
import Models
import Tensors

/// SAELens' folder format for sparse autoencoders: `cfg.json` (d_in, d_sae, architecture,
/// activation_fn_str / activation_fn_kwargs.k, apply_b_dec_to_input, normalize_activations) and
/// `sae_weights.safetensors` (W_enc (d_in, d_sae), W_dec (d_sae, d_in), b_enc, b_dec, and
/// threshold for JumpReLU).
public enum SAELensFormat {
    /// Reads an SAE folder; a missing or malformed field throws `SAEError` naming it.
    public static func load(folder: String) throws -> SparseAutoencoder {
        let config = try ModelConfig(path: folder + "/cfg.json")
        let width = try config.int("d_in"), latents = try config.int("d_sae")
        let architecture = (try? config.string("architecture")) ?? "standard"
        func topK() throws -> Int {
            guard let k = config.json["activation_fn_kwargs"]?["k"]?.intValue else {
                throw SAEError.invalid(field: "activation_fn_kwargs.k", value: "missing", allowed: "the k of a TopK SAE")
            }
            return k
        }
        let activation: SAEActivation
        switch architecture {
        case "jumprelu": activation = .jumpReLU
        case "topk": activation = .topK(try topK())
        case "batchtopk": activation = .batchTopK(try topK())
        case "standard":
            let name = (try? config.string("activation_fn_str")) ?? "relu"
            switch name {
            case "relu": activation = .relu
            case "topk": activation = .topK(try topK())
            default: throw SAEError.invalid(field: "activation_fn_str", value: "\"\(name)\"", allowed: "relu, topk")
            }
        default: throw SAEError.invalid(field: "architecture", value: "\"\(architecture)\"", allowed: "standard, topk, batchtopk, jumprelu")
        }
        let normalization = (try? config.string("normalize_activations")) ?? "none"
        guard ["none", "layer_norm"].contains(normalization) else {
            throw SAEError.invalid(field: "normalize_activations", value: "\"\(normalization)\"", allowed: "none, layer_norm")
        }
        let sae = try SparseAutoencoder(width: width, latents: latents, activation: activation, normalizesInput: normalization == "layer_norm",
                                        subtractsDecoderBias: try config.bool("apply_b_dec_to_input", default: architecture != "jumprelu"))
        let file = try SafeTensorsFile(path: folder + "/sae_weights.safetensors")
        var tensors: [String: Tensor] = [:]
        for name in ["W_enc", "W_dec", "b_enc", "b_dec", "threshold"] where file.contains(name) { tensors[name] = try file.tensor(name) }
        if activation == .jumpReLU && tensors["threshold"] == nil {
            throw SAEError.invalid(field: "threshold", value: "missing", allowed: "a (d_sae) tensor for a JumpReLU SAE")
        }
        try sae.loadState(tensors)
        return sae
    }

    /// Writes `sae` as an SAELens folder (created if needed).
    public static func save(_ sae: SparseAutoencoder, to folder: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var config: [String: Any] = ["d_in": sae.width, "d_sae": sae.latents, "apply_b_dec_to_input": sae.subtractsDecoderBias,
                                     "normalize_activations": sae.normalizesInput ? "layer_norm" : "none", "dtype": "float32"]
        switch sae.activation {
        case .relu: config["architecture"] = "standard"; config["activation_fn_str"] = "relu"
        case .topK(let k):
            config["architecture"] = "topk"; config["activation_fn_str"] = "topk"; config["activation_fn_kwargs"] = ["k": k]
        case .batchTopK(let k):
            config["architecture"] = "batchtopk"; config["activation_fn_str"] = "topk"; config["activation_fn_kwargs"] = ["k": k]
        case .jumpReLU: config["architecture"] = "jumprelu"
        }
        try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys, .prettyPrinted]).write(to: URL(fileURLWithPath: folder + "/cfg.json"))
        var items: [String: SafeTensorsWriter.Item] = [:]
        for (name, p) in sae.namedParameters where name != "threshold" || sae.activation == .jumpReLU { items[name] = .float(p.value) }
        try SafeTensorsWriter.write(items, to: folder + "/sae_weights.safetensors")
    }
}
