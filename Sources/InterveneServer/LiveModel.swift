import Features
import Foundation
import Intervene
import Models
import Tensors

/// What the live page does at the site, at the prompt's last position.
public enum LiveAction: Sendable, Equatable {
    /// out = 0 (zero ablation of the whole activation vector).
    case zero
    /// out = factor · base.
    case scale(Float)
    /// Through the SAE of latent cache `cache`: z_latent ← value, the reconstruction error kept.
    case setLatent(cache: Int, latent: Int, value: Float)
    /// Through the SAE of latent cache `cache`: z_latent ← 0, the reconstruction error kept.
    case ablateLatent(cache: Int, latent: Int)
    /// On the codebook model: code `code` of codebook `codebook` written into `slot` (nil: all
    /// k slots) at the prompt's last position, or `everywhere` (see `LiveAction.codeEdit`).
    case forceCode(codebook: String, code: Int, slot: Int?, everywhere: Bool)
    /// On the codebook model: code `code` never selected at the last position (or everywhere);
    /// `refill`: the next-best code takes its slot, else the slot is zeroed.
    case disableCode(codebook: String, code: Int, refill: Bool, everywhere: Bool)
}

/// One live intervention's outcome: the next-token distribution after the prompt and a greedy
/// continuation, without (`before`) and with (`after`) the intervention.
public struct LiveResult: Sendable {
    /// The prompt's token ids.
    public var promptIds: [Int]
    /// The `top` most probable next tokens (id, probability), most probable first.
    public var before: [(id: Int, probability: Float)]
    public var after: [(id: Int, probability: Float)]
    /// The full next-token probabilities (length V), for the pages' "after" column of the before tokens.
    public var probabilitiesBefore: [Float]
    public var probabilitiesAfter: [Float]
    /// Greedily generated ids (prompt excluded).
    public var generatedBefore: [Int]
    public var generatedAfter: [Int]
}

/// The model behind `intervene serve --model`: the loaded model, its tokenizer, the SAEs of
/// the served latent caches (by cache index) and, for codebook caches, the codebooks inserted
/// into the model (then every live action runs on the model with its codebooks). The model is not thread-safe, so every
/// computation runs under one lock: requests are answered one at a time.
public final class LiveModel: @unchecked Sendable {
    private let lock = NSLock()
    public let model: any HookableModel
    public let tokenizer: any Tokenizer
    /// Where the model was loaded from (shown on the page).
    public let source: String
    /// The SAE of each served latent cache whose `sae.source` could be read, by cache index.
    public let autoencoders: [Int: SparseAutoencoder]
    /// The codebooks inserted into `model` (a codebook bundle), for the code actions; nil: none.
    public let codebooks: CodebookModel?

    public init(model: any HookableModel, tokenizer: any Tokenizer, source: String, autoencoders: [Int: SparseAutoencoder] = [:],
                codebooks: CodebookModel? = nil) {
        self.model = model
        self.tokenizer = tokenizer
        self.source = source
        self.autoencoders = autoencoders
        self.codebooks = codebooks
    }

    /// `body` with the model to itself.
    func serialized<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// The prompt's ids (no special tokens added).
    public func encode(_ text: String) -> [Int] { tokenizer.encode(text, addSpecialTokens: false).ids }

    /// The decoded piece of one id.
    public func piece(_ id: Int) -> String { tokenizer.decode([id], skipSpecialTokens: false) }

    /// The intervention `action` stands for (an SAE action needs `autoencoders[cache]`).
    func intervention(_ action: LiveAction) throws -> any Intervention {
        switch action {
        case .zero: return ZeroIntervention()
        case .scale(let factor): return ClosureIntervention(needsSource: false) { base, _, _ in base * factor }
        case .setLatent(let cache, let latent, let value):
            return try SparseAutoencoderIntervention(sae: try autoencoder(cache), edits: [.set(latent: latent, value: value)])
        case .ablateLatent(let cache, let latent):
            return try SparseAutoencoderIntervention(sae: try autoencoder(cache), edits: [.ablate(latent: latent)])
        case .forceCode, .disableCode:
            throw PageError.badRequest("a code action runs on the codebook model, not at a site; allowed: zero, scale, latent-set, latent-ablate")
        }
    }

    func autoencoder(_ cache: Int) throws -> SparseAutoencoder {
        guard let sae = autoencoders[cache] else {
            throw PageError.badRequest("cache \(cache) has no SAE loaded; allowed: a latent cache whose SAE file could be read")
        }
        return sae
    }

    /// Runs `prompt` (non-empty ids) clean and with `action` at `site` on its last position (a
    /// code action: on the codebook model, `site` unused; see `runCodes`):
    /// next-token probabilities p = softmax(logits[−1]) (top `top` of each) and greedy
    /// continuations of `newTokens` tokens. With `GenerationTiming.prompt` the intervention
    /// writes at the last prompt position only; the key/value cache carries it forward.
    public func run(prompt: [Int], site: Site, action: LiveAction, top: Int = 10, newTokens: Int = 12) throws -> LiveResult {
        if action.codeEdit != nil { return try runCodes(prompt: prompt, action: action, top: top, newTokens: newTokens) }
        return try serialized {
            let steering = try IntervenableModel(config: IntervenableConfig(representations: [RepresentationConfig(layer: site.layer, component: site.component)]),
                                                 model: model, prebuilt: [0: try intervention(action)])
            let tokens = IndexTensor(shape: [1, prompt.count], values: prompt)
            let last = UnitLocations.base([[prompt.count - 1]])
            let pass = try Tensor.withoutGradients { try steering.forward(base: .tokens(tokens), unitLocations: last, outputOriginal: true) }
            func probabilities(_ logits: Tensor) -> [Float] { logits.atPosition(-1).reshaped([logits.shape[2]]).softmax().scalars }
            let before = probabilities(pass.original!.logits), after = probabilities(pass.intervened.logits)
            let generation = try Tensor.withoutGradients {
                try steering.generate(prompt: tokens, unitLocations: last, config: GenerationConfig(maxNewTokens: newTokens), outputOriginal: true)
            }
            return LiveResult(promptIds: prompt, before: Self.best(before, top), after: Self.best(after, top), probabilitiesBefore: before, probabilitiesAfter: after,
                              generatedBefore: Array(generation.original!.sequences[0].dropFirst(prompt.count)),
                              generatedAfter: Array(generation.intervened.sequences[0].dropFirst(prompt.count)))
        }
    }

    /// The activation z_latent of the SAE of latent cache `cache` at `site` on every token of
    /// `prompt` (non-empty ids): one value per position.
    public func latentActivations(prompt: [Int], site: Site, cache: Int, latent: Int) throws -> [Float] {
        let sae = try autoencoder(cache)
        return try serialized {
            let box = ValuesBox()
            let reader = ClosureIntervention(needsSource: false) { base, _, _ in
                let n = base.shape.dropLast().reduce(1, *), d = base.shape.last!
                let z = sae.encode(base.contiguous().reshaped([n, d])).latents.scalars
                let width = z.count / n
                box.values = (0..<n).map { z[$0 * width + latent] }
                return base
            }
            let probe = try IntervenableModel(config: IntervenableConfig(representations: [
                RepresentationConfig(layer: site.layer, component: site.component, maxNumberOfUnits: prompt.count)]), model: model, prebuilt: [0: reader])
            _ = try Tensor.withoutGradients {
                try probe.forward(base: .tokens(IndexTensor(shape: [1, prompt.count], values: prompt)),
                                  unitLocations: .base([Array(0..<prompt.count)]))
            }
            return box.values
        }
    }
}

/// The values a reading intervention hands back out of the forward pass.
private final class ValuesBox: @unchecked Sendable {
    var values: [Float] = []
}
