import Foundation
import Tensors

/// How a PyTorch state dict names a sparse autoencoder's tensors (d = d_in, L = d_sae). Each
/// layout is recognised by its anchor tensor, under any key prefix (`state_dict.`, `sae.`, …).
public enum SAECheckpointLayout: String, Sendable, CaseIterable {
    /// SAELens: `W_enc` (d, L), `W_dec` (L, d), `b_enc` (L), `b_dec` (d), optional `threshold` (L).
    /// Also pyvene's JumpReLUAutoencoderIntervention state dict. Anchor `W_enc`.
    case saeLens = "saelens"
    /// OpenAI's `sparse_autoencoder.Autoencoder`: `encoder.weight` (L, d), `decoder.weight` (d, L)
    /// (tied: `decoder.linear.weight` (L, d)), `pre_bias` (d) = b_dec, `latent_bias` (L) = b_enc,
    /// `activation` ("ReLU" or "TopK") and `activation_state_dict.k`. Anchor `encoder.weight`.
    case openAI = "openai"
    /// pyvene's AutoencoderIntervention: `autoencoder.encoder.0.weight` (L, d),
    /// `autoencoder.encoder.0.bias` (L), `autoencoder.decoder.0.weight` (d, L),
    /// `autoencoder.decoder.0.bias` (d). Anchor `encoder.0.weight`.
    case pyvene = "pyvene"

    var anchor: String {
        switch self {
        case .saeLens: return "W_enc"
        case .openAI: return "encoder.weight"
        case .pyvene: return "encoder.0.weight"
        }
    }
}

/// What a checkpoint cannot say for itself; nil fields take the layout's default.
public struct SAECheckpointOptions: Sendable, Equatable {
    /// The activation (default: OpenAI's `activation` entry; JumpReLU when a `threshold` is
    /// present; otherwise ReLU). A SAELens TopK state dict carries no k: pass `.topK(k)`.
    public var activation: SAEActivation?
    /// Subtract b_dec before encoding (default: true, except JumpReLU: false, as Gemma Scope).
    public var subtractsDecoderBias: Bool?
    /// Normalise each token first (default: true only for OpenAI's TopK autoencoders).
    public var normalizesInput: Bool?

    public init(activation: SAEActivation? = nil, subtractsDecoderBias: Bool? = nil, normalizesInput: Bool? = nil) {
        self.activation = activation
        self.subtractsDecoderBias = subtractsDecoderBias
        self.normalizesInput = normalizesInput
    }
}

/// Reads a sparse autoencoder from a PyTorch checkpoint (`.pt`/`.bin`) through
/// `TorchCheckpoint`, which decodes only tensors, containers and primitives and refuses every
/// other pickle global — nothing in the file is executed. Every layout is converted to SAELens'
/// orientation (W_enc (d, L), W_dec (L, d)). Errors: `TorchCheckpointError` for a file that is
/// not a safe checkpoint, `SAECheckpointError` naming the missing or mis-shaped key and what was
/// expected, `SAEError` for options that do not fit.
public enum SAECheckpoint {
    /// Loads the SAE in `path`, returning it with the layout it was found in.
    public static func load(path: String, options: SAECheckpointOptions = SAECheckpointOptions()) throws
        -> (sae: SparseAutoencoder, layout: SAECheckpointLayout) {
        try load(try TorchCheckpoint(path: path).value, path: path, options: options)
    }

    /// Loads the SAE in a decoded checkpoint value (`path` names it in errors).
    public static func load(_ value: TorchValue, path: String, options: SAECheckpointOptions = SAECheckpointOptions()) throws
        -> (sae: SparseAutoencoder, layout: SAECheckpointLayout) {
        let tensors = value.flattenedTensors()
        var leaves: [String: TorchValue] = [:]
        collectPrimitives(value, prefix: "", into: &leaves)
        var found: [(SAECheckpointLayout, String)] = []
        for layout in SAECheckpointLayout.allCases {
            for key in tensors.keys.sorted() where key == layout.anchor || key.hasSuffix("." + layout.anchor) {
                found.append((layout, String(key.dropLast(layout.anchor.count))))
            }
        }
        guard let (layout, prefix) = found.first else {
            throw SAECheckpointError.unrecognizedLayout(path: path, keys: Array(tensors.keys.sorted().prefix(12)))
        }
        guard found.count == 1 else {
            throw SAECheckpointError.ambiguousLayout(path: path, candidates: found.map { $0.1 + $0.0.anchor })
        }
        let reader = LayoutReader(path: path, prefix: prefix, layout: layout, tensors: tensors, leaves: leaves)
        return (try reader.autoencoder(options), layout)
    }

    /// Strings, numbers and bools reachable through dicts, keyed like `flattenedTensors`.
    static func collectPrimitives(_ value: TorchValue, prefix: String, into out: inout [String: TorchValue]) {
        func join(_ key: String) -> String { prefix.isEmpty ? key : prefix + "." + key }
        switch value {
        case .string, .int, .double, .bool: out[prefix] = value
        case .dict(let entries):
            for e in entries {
                switch e.key {
                case .string(let s): collectPrimitives(e.value, prefix: join(s), into: &out)
                case .int(let i): collectPrimitives(e.value, prefix: join(String(i)), into: &out)
                default: continue
                }
            }
        default: break
        }
    }
}

/// Reads one layout's tensors under a prefix, checking every shape against the anchor's.
struct LayoutReader {
    let path: String, prefix: String, layout: SAECheckpointLayout
    let tensors: [String: Tensor], leaves: [String: TorchValue]

    func tensor(_ name: String, _ what: String) throws -> Tensor {
        guard let t = tensors[prefix + name] else {
            throw SAECheckpointError.missingTensor(path: path, key: prefix + name, layout: layout.rawValue, expected: what)
        }
        return t
    }

    func check(_ t: Tensor, _ name: String, _ shape: [Int], _ meaning: String) throws {
        guard t.shape == shape else {
            throw SAECheckpointError.shapeMismatch(path: path, key: prefix + name, found: t.shape, expected: shape, meaning: meaning)
        }
    }

    /// The anchor's two dimensions as (d, L).
    func dimensions(_ anchor: Tensor, latentsFirst: Bool) throws -> (Int, Int) {
        guard anchor.rank == 2, anchor.shape.allSatisfy({ $0 >= 1 }) else {
            throw SAECheckpointError.shapeMismatch(path: path, key: prefix + layout.anchor, found: anchor.shape, expected: [],
                                                   meaning: latentsFirst ? "a matrix (d_sae, d_in)" : "a matrix (d_in, d_sae)")
        }
        return latentsFirst ? (anchor.shape[1], anchor.shape[0]) : (anchor.shape[0], anchor.shape[1])
    }

    /// The tensor `name` (as stored: `shape`), transposed when asked.
    func take(_ name: String, _ shape: [Int], _ meaning: String, transpose: Bool = false) throws -> Tensor {
        let t = try tensor(name, "\(meaning) of shape \(shape)")
        try check(t, name, shape, meaning)
        return transpose ? t.transposed().contiguous() : t
    }

    /// The SAE with `options` applied over the layout's defaults.
    func autoencoder(_ options: SAECheckpointOptions) throws -> SparseAutoencoder {
        let (state, activation, normalizes) = try layoutState()
        let chosen = options.activation ?? activation
        if chosen == .jumpReLU && state["threshold"] == nil {
            throw SAECheckpointError.missingTensor(path: path, key: prefix + "threshold", layout: layout.rawValue, expected: "the JumpReLU threshold (d_sae)")
        }
        let (d, l) = (state["W_enc"]!.shape[0], state["W_enc"]!.shape[1])
        let sae = try SparseAutoencoder(width: d, latents: l, activation: chosen, normalizesInput: options.normalizesInput ?? normalizes,
                                        subtractsDecoderBias: options.subtractsDecoderBias ?? (chosen != .jumpReLU))
        try sae.loadState(state)
        return sae
    }

    /// SAELens-named tensors (W_enc (d, L), …), the layout's activation and whether it normalises.
    func layoutState() throws -> ([String: Tensor], SAEActivation, Bool) {
        switch layout {
        case .saeLens:
            let (d, l) = try dimensions(try tensor("W_enc", "the encoder (d_in, d_sae)"), latentsFirst: false)
            var state = ["W_enc": try take("W_enc", [d, l], "the encoder (d_in, d_sae)"), "W_dec": try take("W_dec", [l, d], "the decoder (d_sae, d_in)"),
                         "b_enc": try take("b_enc", [l], "the encoder bias (d_sae)"), "b_dec": try take("b_dec", [d], "the decoder bias (d_in)")]
            guard tensors[prefix + "threshold"] != nil else { return (state, .relu, false) }
            state["threshold"] = try take("threshold", [l], "the JumpReLU threshold (d_sae)")
            return (state, .jumpReLU, false)
        case .openAI:
            let (d, l) = try dimensions(try tensor("encoder.weight", "the encoder (d_sae, d_in)"), latentsFirst: true)
            let tied = tensors[prefix + "decoder.weight"] == nil && tensors[prefix + "decoder.linear.weight"] != nil
            let state = ["W_enc": try take("encoder.weight", [l, d], "the encoder (d_sae, d_in)", transpose: true),
                         "W_dec": tied ? try take("decoder.linear.weight", [l, d], "the tied decoder (d_sae, d_in)")
                                       : try take("decoder.weight", [d, l], "the decoder (d_in, d_sae)", transpose: true),
                         "b_enc": try take("latent_bias", [l], "the latent bias (d_sae)"), "b_dec": try take("pre_bias", [d], "the pre-bias (d_in)")]
            let (activation, normalizes) = try openAIActivation()
            return (state, activation, normalizes)
        case .pyvene:
            let (d, l) = try dimensions(try tensor("encoder.0.weight", "the encoder (d_sae, d_in)"), latentsFirst: true)
            let state = ["W_enc": try take("encoder.0.weight", [l, d], "the encoder (d_sae, d_in)", transpose: true),
                         "W_dec": try take("decoder.0.weight", [d, l], "the decoder (d_in, d_sae)", transpose: true),
                         "b_enc": try take("encoder.0.bias", [l], "the encoder bias (d_sae)"), "b_dec": try take("decoder.0.bias", [d], "the decoder bias (d_in)")]
            return (state, .relu, false)
        }
    }

    /// OpenAI's `activation` entry ("ReLU", "TopK" with `activation_state_dict.k` and a ReLU
    /// `postact_fn`) and whether it normalises (their loader's rule: TopK autoencoders do).
    func openAIActivation() throws -> (SAEActivation, Bool) {
        guard let entry = leaves[prefix + "activation"] else { return (.relu, false) }
        guard case .string(let name) = entry else {
            throw SAECheckpointError.unsupported(path: path, field: prefix + "activation", value: "\(entry)", allowed: "\"ReLU\" or \"TopK\"")
        }
        switch name {
        case "ReLU": return (.relu, false)
        case "TopK":
            guard case .int(let k)? = leaves[prefix + "activation_state_dict.k"] else {
                throw SAECheckpointError.missingTensor(path: path, key: prefix + "activation_state_dict.k", layout: layout.rawValue, expected: "the integer k of the TopK activation")
            }
            if let post = leaves[prefix + "activation_state_dict.postact_fn"], case .string(let f) = post, f != "ReLU" {
                throw SAECheckpointError.unsupported(path: path, field: prefix + "activation_state_dict.postact_fn", value: "\"\(f)\"", allowed: "\"ReLU\"")
            }
            return (.topK(k), true)
        default:
            throw SAECheckpointError.unsupported(path: path, field: prefix + "activation", value: "\"\(name)\"", allowed: "\"ReLU\" or \"TopK\"")
        }
    }
}

/// A checkpoint whose tensors do not make a sparse autoencoder; names the file, the key and
/// what was expected.
public enum SAECheckpointError: Error, CustomStringConvertible, Equatable {
    /// No layout's anchor tensor (W_enc, encoder.weight, encoder.0.weight) was found.
    case unrecognizedLayout(path: String, keys: [String])
    /// More than one anchor was found.
    case ambiguousLayout(path: String, candidates: [String])
    /// A tensor (or value) the layout needs is absent.
    case missingTensor(path: String, key: String, layout: String, expected: String)
    /// A tensor has the wrong shape for the SAE the anchor defines.
    case shapeMismatch(path: String, key: String, found: [Int], expected: [Int], meaning: String)
    /// A value the reader does not support.
    case unsupported(path: String, field: String, value: String, allowed: String)

    public var description: String {
        switch self {
        case .unrecognizedLayout(let path, let keys):
            return "\(path): no sparse autoencoder found (no W_enc, encoder.weight or encoder.0.weight tensor); keys: \(keys.joined(separator: ", "))"
        case .ambiguousLayout(let path, let candidates):
            return "\(path): several sparse autoencoders found (\(candidates.joined(separator: ", "))); extract one into its own file"
        case .missingTensor(let path, let key, let layout, let expected):
            return "\(path): no '\(key)' (the \(layout) layout needs \(expected))"
        case .shapeMismatch(let path, let key, let found, let expected, let meaning):
            return "\(path): '\(key)' has shape \(found); expected \(expected.isEmpty ? "" : "\(expected), ")\(meaning)"
        case .unsupported(let path, let field, let value, let allowed):
            return "\(path): '\(field)' is \(value); supported: \(allowed)"
        }
    }
}
