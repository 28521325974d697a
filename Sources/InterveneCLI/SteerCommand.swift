import ArgumentParser
import CausalAbstraction
import Foundation
import Intervene
import Models

/// `intervene steer --model M --positive P --negative N --site SITE --coefficient C --out BUNDLE [--prompt P]`.
struct SteerCommand: ExecutingCommand {
    static let configuration = CommandConfiguration(
        commandName: "steer",
        abstract: "Build an activation-addition steering vector from contrasting prompts and save it as a bundle.",
        discussion: """
        The vector is h(--positive) − h(--negative) at --site (averaged over the pairs when --positive and --negative are
        repeated, matched in order). With --reduction aligned (the default, as Turner et al. 2023) every prompt is
        right-padded with spaces to one length and row i of the vector is added at prompt position i on the prompt's
        pass; last_token and mean give one row, which --placement all_positions adds at every prompt and generated token.
        The bundle applies with `intervene generate --bundle`. With --prompt, prints the generation with and without steering.
        Example: intervene steer --model SmolLM2.gguf --positive "Love" --negative "Hate" --site 6:block_output \\
                 --coefficient 5 --out love.bundle --prompt "I hate you because"
        """
    )

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var output: OutputOptions

    @Option(name: .customLong("positive"), help: "A prompt the vector steers towards (repeatable).")
    var positives: [String] = []

    @Option(name: .customLong("negative"), help: "A prompt the vector steers away from (repeatable; one per --positive).")
    var negatives: [String] = []

    @Option(parsing: .unconditional, help: "The site: LAYER:COMPONENT or a TransformerLens name (negative layers count from the end).")
    var site: String

    @Option(parsing: .unconditional, help: "The coefficient the vector is multiplied by.")
    var coefficient: Float = 5

    @Option(help: "aligned (padded prompts, one row per position), last_token or mean.")
    var reduction: String = SteeringVector.Reduction.aligned.rawValue

    @Option(help: "prompt (rows at the prompt's first positions, prompt pass only) or all_positions (one row at every position, generated ones too).")
    var placement: String = SteeringIntervention.Placement.prompt.rawValue

    @Option(help: "The one-token text aligned prompts are padded with.")
    var padding: String = " "

    @Option(help: "The bundle directory to write.")
    var out: String

    @Option(help: "A prompt to generate from with and without steering.")
    var prompt: String?

    @Option(name: .customLong("max-new-tokens"), help: "New tokens at most (with --prompt).")
    var maxNewTokens: Int = 20

    func validate() throws {
        guard maxNewTokens >= 1 else { throw ValidationError("--max-new-tokens must be at least 1, got \(maxNewTokens)") }
    }

    /// Builds the vector, writes the bundle, prints (and with --prompt generates); returns the
    /// JSON report. Throws typed errors naming the flag.
    func execute() throws -> [String: Any] {
        guard let reduction = SteeringVector.Reduction(rawValue: reduction) else {
            throw ExperimentError.invalid(file: "--reduction", field: "reduction", value: "\"\(self.reduction)\"",
                                          expected: SteeringVector.Reduction.allCases.map(\.rawValue).joined(separator: ", "))
        }
        guard let placement = SteeringIntervention.Placement(rawValue: placement) else {
            throw ExperimentError.invalid(file: "--placement", field: "placement", value: "\"\(self.placement)\"",
                                          expected: SteeringIntervention.Placement.allCases.map(\.rawValue).joined(separator: ", "))
        }
        guard coefficient.isFinite else { throw SteeringError.invalidCoefficient(value: "\(coefficient)") }
        guard !positives.isEmpty || !negatives.isEmpty else { throw SteeringError.noPairs }
        guard positives.count == negatives.count else { throw SteeringError.unpairedPrompts(positives: positives.count, negatives: negatives.count) }
        let parsedSite = try Site(parsing: site)
        let loaded = try modelOptions.load(quiet: output.json)
        let tokenizer = try loaded.requireTokenizer()
        let pairs = zip(positives, negatives).map { SteeringVector.Pair(positive: $0, negative: $1) }
        let vector = try SteeringVector.compute(model: loaded.model, tokenizer: tokenizer, pairs: pairs, site: parsedSite,
                                                reduction: reduction, padding: padding)
        let intervenable = try vector.intervenable(model: loaded.model, coefficient: coefficient, placement: placement)
        let command = "intervene " + CommandLine.arguments.dropFirst().map { $0.contains(" ") || $0.isEmpty ? "\"\($0)\"" : $0 }.joined(separator: " ")
        let siteName = "\(vector.site.layer):\(vector.site.component.rawValue)"
        let card = InterventionBundle.Card(
            title: "Steering vector at \(siteName)",
            task: "Activation addition (Turner et al. 2023): \(coefficient) · V at \(siteName), V = mean over \(pairs.count) pair(s) of "
                + "h(positive) − h(negative), \(reduction.rawValue) reduction, \(vector.vector.shape[0]) position(s), placement \(placement.rawValue). "
                + "Pairs: " + pairs.map { "\"\($0.positive)\" − \"\($0.negative)\"" }.joined(separator: "; "),
            training: "No training: the vector is read from one forward pass per prompt.", reproduce: command)
        try InterventionBundle.save(intervenable, to: out, modelSource: modelOptions.model, metrics: ["vector_norm": Double(vector.norm)],
                                    provenance: .init(command: command, seed: 0, data: vector.provenanceData), card: card)
        var object: [String: Any] = ["bundle": out, "site": siteName, "positions": vector.vector.shape[0], "width": vector.vector.shape[1],
                                     "vector_norm": Double(vector.norm), "coefficient": Double(coefficient)]
        if !output.json {
            print(String(format: "wrote %@: %d × %d vector at %@, ‖V‖ %.3f, coefficient %g", out, vector.vector.shape[0], vector.vector.shape[1],
                         siteName, vector.norm, coefficient))
        }
        if let prompt {
            let text = try SteeredText.generate(intervenable, tokenizer: tokenizer, prompt: prompt, maxNewTokens: maxNewTokens)
            object["prompt"] = prompt
            object["steered"] = text.steered
            object["unsteered"] = text.unsteered
            if !output.json { print("\nsteered:\n" + prompt + text.steered + "\n\nunsteered:\n" + prompt + text.unsteered) }
        }
        if output.json { try printJSON(object) }
        return object
    }
}

/// Greedy generation with and without a steering bundle's interventions.
enum SteeredText {
    static func generate(_ intervenable: IntervenableModel, tokenizer: any Tokenizer, prompt: String, maxNewTokens: Int,
                         config: GenerationConfig? = nil) throws -> (steered: String, unsteered: String, ids: [Int], promptLength: Int) {
        let ids = tokenizer.encode(prompt, addSpecialTokens: true).ids
        guard !ids.isEmpty else { throw SteeringError.emptyPrompt(field: "prompt", text: prompt) }
        let result = try SteeringVector.generate(intervenable, prompt: ids, config: config ?? GenerationConfig(maxNewTokens: maxNewTokens),
                                                 outputOriginal: true)
        func text(_ r: GenerationResult) -> String {
            tokenizer.decode(Array(r.sequences[0][ids.count..<(ids.count + r.generatedCounts[0])]), skipSpecialTokens: true)
        }
        return (text(result.intervened), result.original.map(text) ?? "", result.intervened.sequences[0], ids.count)
    }
}

extension SteeringError: CausalAbstractionInputError {}
