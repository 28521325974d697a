import ArgumentParser
import Features
import Foundation
import Tensors

/// `intervene sae import FILE_OR_DIR --out DIR`: any supported SAE into SAELens' folder format.
struct SAEImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Convert a sparse autoencoder (PyTorch .pt/.bin state dict, or a SAELens folder) into a SAELens folder.",
        discussion: """
        A .pt/.bin file is read without running any code: only tensors, dicts, lists and plain values are accepted, and any
        other pickle global (os.system, …) is refused. Key layouts: SAELens (W_enc (d_in, d_sae), W_dec, b_enc, b_dec,
        optional threshold — also pyvene's JumpReLU intervention), OpenAI's sparse_autoencoder (encoder.weight, decoder.weight,
        pre_bias, latent_bias, activation, activation_state_dict.k) and pyvene's AutoencoderIntervention
        (autoencoder.encoder.0.weight, …), under any key prefix. The output folder holds cfg.json and sae_weights.safetensors.
        Defaults: the file's own activation (JumpReLU when a threshold is present, ReLU otherwise); b_dec subtracted before
        encoding except for JumpReLU; input normalisation only for OpenAI's TopK autoencoders.
        """
    )

    @Argument(help: "A .pt/.bin checkpoint, or a SAELens folder (cfg.json + sae_weights.safetensors).")
    var input: String

    @Option(help: "The SAELens folder to write (replaced if it exists).")
    var out: String

    @OptionGroup var choices: SAEImportChoices
    @OptionGroup var output: OutputOptions

    func run() throws {
        do {
            let (sae, layout) = try choices.load(input)
            try FileSystem.writeDirectoryAtomically(out) { try SAELensFormat.save(sae, to: $0) }
            let architecture = SAEImportChoices.architectureName(sae.activation)
            if output.json {
                var object: [String: Any] = ["out": out, "layout": layout, "d_in": sae.width, "d_sae": sae.latents, "architecture": architecture,
                                             "apply_b_dec_to_input": sae.subtractsDecoderBias, "normalize_activations": sae.normalizesInput ? "layer_norm" : "none"]
                if let k = SAEImportChoices.k(of: sae.activation) { object["k"] = k }
                try printJSON(object)
            } else {
                print("wrote \(architecture) SAE (\(sae.width) → \(sae.latents), \(layout) layout) to \(out)")
            }
        } catch {
            throw fail(error)
        }
    }
}

/// `--architecture`, `--k`, `--apply-b-dec-to-input`, `--normalize`: what a checkpoint cannot
/// say for itself; shared by `sae import` and `sae latents`.
struct SAEImportChoices: ParsableArguments {
    @Option(help: "relu, topk, batchtopk or jumprelu (default: the file's own).")
    var architecture: String?

    @Option(parsing: .unconditional, help: "k of a topk or batchtopk SAE (default: the file's own, for OpenAI's layout).")
    var k: Int?

    @Option(name: .customLong("apply-b-dec-to-input"), help: "true or false: subtract b_dec before encoding (default: by layout).")
    var applyDecoderBias: String?

    @Option(help: "none or layer_norm: per-token input normalisation (default: by layout).")
    var normalize: String?

    /// The SAE at `path` and the layout it was found in ("saelens-folder" for a folder). Throws
    /// `SAEError` naming a flag that does not fit.
    func load(_ path: String) throws -> (SparseAutoencoder, String) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw SAEError.invalid(field: "input", value: "'\(path)' (no such file or folder)", allowed: "a .pt/.bin checkpoint or a SAELens folder")
        }
        let options = try checkpointOptions()
        if isDirectory.boolValue {
            guard options == SAECheckpointOptions() else {
                throw SAEError.invalid(field: "--architecture/--k/--apply-b-dec-to-input/--normalize", value: "given for a SAELens folder",
                                       allowed: "only with a .pt/.bin checkpoint (a folder's cfg.json says these)")
            }
            return (try SAELensFormat.load(folder: path), "saelens-folder")
        }
        let (sae, layout) = try SAECheckpoint.load(path: path, options: options)
        return (sae, layout.rawValue)
    }

    /// The flags as checkpoint options.
    func checkpointOptions() throws -> SAECheckpointOptions {
        var options = SAECheckpointOptions()
        if let k { guard k >= 1 else { throw SAEError.invalid(field: "--k", value: "\(k)", allowed: "an integer ≥ 1") } }
        switch architecture {
        case nil:
            guard k == nil else { throw SAEError.invalid(field: "--k", value: "\(k!)", allowed: "only with --architecture topk or batchtopk") }
        case "relu": options.activation = .relu
        case "jumprelu": options.activation = .jumpReLU
        case "topk", "batchtopk":
            guard let k else { throw SAEError.invalid(field: "--k", value: "missing", allowed: "the k of a \(architecture!) SAE") }
            options.activation = architecture == "topk" ? .topK(k) : .batchTopK(k)
        case let other?: throw SAEError.invalid(field: "--architecture", value: "'\(other)'", allowed: "relu, topk, batchtopk, jumprelu")
        }
        if let k, architecture == "relu" || architecture == "jumprelu" {
            throw SAEError.invalid(field: "--k", value: "\(k)", allowed: "only with --architecture topk or batchtopk")
        }
        switch applyDecoderBias {
        case nil: break
        case "true": options.subtractsDecoderBias = true
        case "false": options.subtractsDecoderBias = false
        case let other?: throw SAEError.invalid(field: "--apply-b-dec-to-input", value: "'\(other)'", allowed: "true, false")
        }
        switch normalize {
        case nil: break
        case "none": options.normalizesInput = false
        case "layer_norm": options.normalizesInput = true
        case let other?: throw SAEError.invalid(field: "--normalize", value: "'\(other)'", allowed: "none, layer_norm")
        }
        return options
    }

    /// "relu", "topk", "batchtopk" or "jumprelu".
    static func architectureName(_ a: SAEActivation) -> String {
        switch a {
        case .relu: return "relu"
        case .topK: return "topk"
        case .batchTopK: return "batchtopk"
        case .jumpReLU: return "jumprelu"
        }
    }

    /// k of the TopK kinds.
    static func k(of a: SAEActivation) -> Int? {
        switch a {
        case .topK(let k), .batchTopK(let k): return k
        case .relu, .jumpReLU: return nil
        }
    }
}

extension SAECheckpointError: CausalAbstractionInputError {}
extension TorchCheckpointError: CausalAbstractionInputError {}
extension LatentCacheError: CausalAbstractionInputError {}
