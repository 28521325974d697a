import ArgumentParser
import CausalAbstraction
import Foundation
import Models

/// `intervene run --model M --prompt P [--source S] --site SITE --pos POS --intervention KIND`.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Intervene on one prompt and compare the next-token distribution before and after.",
        discussion: """
        SITE is pyvene's LAYER:COMPONENT (6:block_output) or a TransformerLens name (blocks.6.hook_resid_post); negative
        layers count from the end. POS is a token index (negative from the end) or a substring of the prompt (its last token).
        Example: intervene run --model SmolLM2.gguf --prompt "The capital of Spain is" --source "The capital of Italy is" \\
                 --site 10:block_output --pos Spain --answer " Madrid" --answer " Rome"
        """
    )

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var output: OutputOptions

    @Option(help: "The base prompt.")
    var prompt: String

    @Option(help: "The source prompt (vanilla, addition and subtraction read it).")
    var source: String?

    @Option(parsing: .unconditional, help: "The site: LAYER:COMPONENT or a TransformerLens name (negative layers count from the end).")
    var site: String

    @Option(parsing: .unconditional, help: "The base position: an index, a negative index (-1: the last token), or a substring of the prompt.")
    var pos: String

    @Option(name: .customLong("source-pos"), parsing: .unconditional,
            help: "The source position, in the source prompt (default: the base position's index).")
    var sourcePos: String?

    @Option(help: "vanilla, addition, subtraction, zero or scale.")
    var intervention: String = "vanilla"

    @Option(help: "The factor of addition, subtraction and scale.")
    var scale: Float = 1

    @Option(help: "How many next tokens to show.")
    var top: Int = 5

    @Option(name: .customLong("answer"), help: "An answer whose logit to report (repeatable; two give their difference).")
    var answers: [String] = []

    func validate() throws {
        guard PromptIntervention.Kind(rawValue: intervention) != nil else {
            throw ValidationError("--intervention '\(intervention)' is not one of \(PromptIntervention.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard top >= 1 else { throw ValidationError("--top must be at least 1, got \(top)") }
        guard scale.isFinite else { throw ValidationError("--scale must be a finite number") }
    }

    func run() throws {
        do {
            let loaded = try modelOptions.load(quiet: output.json)
            let runner = PromptIntervention(model: loaded.model, tokenizer: try loaded.requireTokenizer())
            let result = try runner.run(prompt: prompt, source: source, site: try Site(parsing: site), position: pos, sourcePosition: sourcePos,
                                        kind: PromptIntervention.Kind(rawValue: intervention)!, scale: scale, topK: top, answers: answers)
            if output.json { try printJSON(RunReport.json(result)) } else { print(RunReport.text(result, site: site)) }
        } catch {
            throw fail(error)
        }
    }
}

/// How `intervene run` prints a result.
enum RunReport {
    static func json(_ r: PromptIntervention.Result) -> [String: Any] {
        func candidates(_ list: [PromptIntervention.Candidate]) -> [[String: Any]] {
            list.map { ["id": $0.id, "token": $0.text, "probability": Double($0.probability), "logit": Double($0.logit)] }
        }
        var object: [String: Any] = ["tokens": r.baseTokens, "position": r.position, "before": candidates(r.before), "after": candidates(r.after),
                                     "answers": r.answers.map { ["answer": $0.answer, "id": $0.id, "logit_before": Double($0.before), "logit_after": Double($0.after)] }]
        if let s = r.sourcePosition { object["source_position"] = s }
        if r.answers.count == 2 {
            object["logit_difference_before"] = Double(r.answers[0].before - r.answers[1].before)
            object["logit_difference_after"] = Double(r.answers[0].after - r.answers[1].after)
        }
        return object
    }

    static func text(_ r: PromptIntervention.Result, site: String) -> String {
        var lines = ["tokens: " + r.baseTokens.enumerated().map { "\($0.offset):\(String(reflecting: $0.element))" }.joined(separator: " "),
                     "intervened at \(site), position \(r.position)" + (r.sourcePosition.map { " (source position \($0))" } ?? ""), ""]
        let rows = (0..<max(r.before.count, r.after.count)).map { i -> [String] in
            func cell(_ list: [PromptIntervention.Candidate]) -> [String] {
                i < list.count ? [String(reflecting: list[i].text), String(format: "%.4f", list[i].probability)] : ["", ""]
            }
            return ["\(i + 1)"] + cell(r.before) + cell(r.after)
        }
        lines.append(table(["#", "before", "p", "after", "p"], rows))
        for a in r.answers { lines.append(String(format: "logit of %@: %.4f → %.4f", String(reflecting: a.answer), a.before, a.after)) }
        if r.answers.count == 2 {
            lines.append(String(format: "logit difference %@ − %@: %.4f → %.4f", String(reflecting: r.answers[0].answer), String(reflecting: r.answers[1].answer),
                                r.answers[0].before - r.answers[1].before, r.answers[0].after - r.answers[1].after))
        }
        return lines.joined(separator: "\n")
    }
}
