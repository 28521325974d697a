import Models
import Tensors

/// Which forward calls of a generation a code edit acts on.
public enum CodeEditTiming: String, Sendable, CaseIterable {
    /// The prompt's pass only; later tokens attend to the edited keys and values in the cache.
    case prompt
    /// Every generated token's pass, not the prompt's.
    case generatedTokens
    /// The prompt's pass and every generated token's pass.
    case promptAndGeneratedTokens

    func includes(call: Int) -> Bool {
        switch self {
        case .prompt: return call == 0
        case .generatedTokens: return call > 0
        case .promptAndGeneratedTokens: return true
        }
    }
}

/// Code edits for one codebook: patches that force (or block) codes, and call options that
/// disable codes or slots. Positions count along the tokens of each forward call: in the
/// prompt's pass −1 is the last prompt token; in a generated token's pass (one token, thanks
/// to the key/value cache) every position is that token.
public struct CodeEdit: Equatable, Codable, Sendable {
    public var patches: [CodePatch]
    public var options: CodebookCallOptions

    public init(patches: [CodePatch] = [], options: CodebookCallOptions = .plain) {
        self.patches = patches
        self.options = options
    }
}

extension CodebookModel {
    /// Generates from `prompt` (B, S) with `edits` — by codebook name ("L1.mlp",
    /// "L0.attn_preproj.g2") — applied on the calls `timing` picks; the other calls run the
    /// codebooks with their own settings. The codebooks' own patches and options are restored
    /// afterwards, also when generation throws. Throws `CodebookError.unknownCodebook` for a
    /// name that is not a codebook of this model, `codeOutOfRange`/`invalidOption` for a bad
    /// patch, and the generator's errors.
    public func generate(prompt: IndexTensor, edits: [String: CodeEdit], timing: CodeEditTiming = .prompt,
                         config: GenerationConfig) throws -> GenerationResult {
        var targets: [(CodebookLayer, CodeEdit)] = []
        for name in edits.keys.sorted() {
            guard let layer = codebook(named: name) else {
                throw CodebookError.unknownCodebook(name: name, available: codebooks.map(\.name))
            }
            try layer.validate(edits[name]!)
            targets.append((layer, edits[name]!))
        }
        let saved = targets.map { ($0.0.patches, $0.0.callOptions) }
        defer { for (i, (layer, _)) in targets.enumerated() { (layer.patches, layer.callOptions) = saved[i] } }
        return try Tensor.withoutGradients {
            try Generator.generate(model, prompt: prompt, config: config) { call in
                let active = timing.includes(call: call)
                for (i, (layer, edit)) in targets.enumerated() {
                    (layer.patches, layer.callOptions) = active ? (edit.patches, edit.options) : saved[i]
                }
                return nil
            }
        }
    }
}

extension CodebookLayer {
    /// Checks an edit's codes and slots against this codebook before any pass runs; positions
    /// are checked per call, against that call's length.
    func validate(_ edit: CodeEdit) throws {
        for patch in edit.patches {
            guard patch.code >= -1 && patch.code < codeCount else {
                throw CodebookError.codeOutOfRange(codebook: name, code: patch.code, codes: codeCount)
            }
            if let slot = patch.slot { _ = try CodeSelection.slot(slot, k: k, field: "patch slot", codebook: name) }
        }
        for c in edit.options.disabledCodes where c < 0 || c >= codeCount {
            throw CodebookError.disabledCodeOutOfRange(codebook: name, code: c, codes: codeCount)
        }
    }
}
