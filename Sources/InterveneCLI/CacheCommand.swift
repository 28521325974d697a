import ArgumentParser
import CausalAbstraction
import Foundation
import Models

/// `intervene cache --model M --prompts FILE --sites S1,S2 --out acts.safetensors`.
struct CacheCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache",
        abstract: "Write a model's activations on a list of prompts at some sites to a safetensors file.",
        discussion: """
        --prompts is a text file with one prompt per line (or a .jsonl file of JSON strings / {"prompt": …}).
        The file holds prompt_<i>/<site> (the batch axis dropped) and prompt_<i>/ids for every prompt i.
        """
    )

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var output: OutputOptions

    @Option(help: "A file of prompts, one per line.")
    var prompts: String

    @Option(help: "Sites, comma-separated (LAYER:COMPONENT or TransformerLens names).")
    var sites: String

    @Option(help: "The safetensors file to write.")
    var out: String

    func validate() throws {
        guard !sites.split(separator: ",").allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) else {
            throw ValidationError("--sites needs at least one site")
        }
    }

    func run() throws {
        do {
            let loaded = try modelOptions.load(quiet: output.json)
            let texts = try ActivationExport.prompts(fromFile: prompts)
            let names = sites.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            try ActivationExport.write(model: loaded.model, tokenizer: try loaded.requireTokenizer(), prompts: texts, sites: names, to: out)
            if output.json {
                try printJSON(["prompts": texts.count, "sites": names, "file": out])
            } else {
                print("wrote \(texts.count) prompts × \(names.count) sites to \(out)")
            }
        } catch {
            throw fail(error)
        }
    }
}
