import ArgumentParser
import CausalAbstraction
import Foundation
import Intervene
import Models

/// `intervene generate --model M --prompt P [--max-tokens n] [sampling] [--steer-site SITE --steer TEXT … | --bundle B]`.
struct GenerateCommand: ExecutingCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate text from a prompt, plain or steered by an activation-addition vector.",
        discussion: """
        Steering adds scale · (h(--steer) − h(--steer-negative)) at --steer-site (read at each steering prompt's last token)
        to every prompt position and every generated token, and prints the unsteered text beside the steered one.
        --bundle applies a steering bundle written by `intervene steer` (at the positions its placement names) instead.
        """
    )

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var output: OutputOptions

    @Option(help: "The prompt.")
    var prompt: String

    @Option(name: .customLong("max-tokens"), help: "New tokens at most.")
    var maxTokens: Int = 20

    @Option(help: "Sampling temperature; 0 (the default) is greedy decoding.")
    var temperature: Float = 0

    @Option(name: .customLong("top-k"), help: "Sample among the k most likely tokens.")
    var topK: Int?

    @Option(name: .customLong("top-p"), help: "Sample among the most likely tokens whose probability reaches p.")
    var topP: Float?

    @Option(help: "Seed of the sampling.")
    var seed: UInt64 = 0

    @Option(name: .customLong("stop-token"), help: "A token id that ends generation (repeatable).")
    var stopTokens: [Int] = []

    @Option(name: .customLong("steer-site"), parsing: .unconditional, help: "Steering site: LAYER:COMPONENT or a TransformerLens name.")
    var steerSite: String?

    @Option(name: .customLong("steer"), help: "Steering prompt whose activation is added.")
    var steer: String?

    @Option(name: .customLong("steer-negative"), help: "Steering prompt whose activation is subtracted.")
    var steerNegative: String?

    @Option(name: .customLong("steer-scale"), help: "Scale of the steering vector.")
    var steerScale: Float = 4

    @Option(help: "A steering bundle (from `intervene steer`) to apply instead of --steer-site.")
    var bundle: String?

    func validate() throws {
        guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be at least 1, got \(maxTokens)") }
        guard temperature >= 0 && temperature.isFinite else { throw ValidationError("--temperature must be ≥ 0, got \(temperature)") }
        if let k = topK, k < 1 { throw ValidationError("--top-k must be at least 1, got \(k)") }
        if let p = topP, !(p > 0 && p <= 1) { throw ValidationError("--top-p must be in (0, 1], got \(p)") }
        guard (steerSite == nil) == (steer == nil) else { throw ValidationError("--steer-site and --steer go together") }
        guard steerNegative == nil || steer != nil else { throw ValidationError("--steer-negative needs --steer and --steer-site") }
        guard temperature > 0 || (topK == nil && topP == nil) else {
            throw ValidationError("--top-k and --top-p sample: give a --temperature above 0 with them (0 is greedy decoding)")
        }
        guard steerScale.isFinite else { throw ValidationError("--steer-scale must be a finite number") }
        guard bundle == nil || steerSite == nil else { throw ValidationError("--bundle and --steer-site are alternatives; give one") }
    }

    /// Generates and prints; returns the JSON report (`text`, `ids`, `prompt_tokens`, and
    /// `unsteered_text` when steered).
    func execute() throws -> [String: Any] {
        let loaded = try modelOptions.load(quiet: output.json)
        guard let model = loaded.model as? any CausalLanguageModel else {
            throw ModelError.invalidInput("\(loaded.model.modelType) is not a causal language model; generation needs one")
        }
        let strategy: DecodingStrategy = temperature == 0 ? .greedy : .sample(temperature: temperature, topK: topK, topP: topP)
        let config = GenerationConfig(maxNewTokens: maxTokens, strategy: strategy, stopTokens: Set(stopTokens), seed: seed)
        var object: [String: Any] = ["prompt": prompt]
        if let bundle {
            let intervenable = try InterventionBundle.load(from: bundle, model: model)
            let text = try SteeredText.generate(intervenable, tokenizer: try loaded.requireTokenizer(), prompt: prompt, maxNewTokens: maxTokens, config: config)
            object.merge(["text": text.steered, "ids": text.ids, "prompt_tokens": text.promptLength, "unsteered_text": text.unsteered,
                          "bundle": bundle]) { $1 }
        } else {
            let steering = try steerSite.map { PromptGeneration.Steering(site: try Site(parsing: $0), positive: steer!, negative: steerNegative, scale: steerScale) }
            let result = try PromptGeneration(model: model, tokenizer: try loaded.requireTokenizer())
                .generate(prompt: prompt, config: config, steering: steering)
            object.merge(["text": result.text, "ids": result.ids, "prompt_tokens": result.promptLength]) { $1 }
            if let u = result.unsteeredText { object["unsteered_text"] = u }
            if let n = result.steeringNorm { object["steering_norm"] = Double(n) }
        }
        if output.json {
            try printJSON(object)
        } else {
            print(prompt + (object["text"] as! String))
            if let u = object["unsteered_text"] as? String { print("\nunsteered:\n" + prompt + u) }
        }
        return object
    }
}
