import ArgumentParser
import Foundation
import Models

/// `--model` (and `--revision`), shared by the commands that load a model.
struct ModelOptions: ParsableArguments {
    @Option(help: "A checkpoint folder (config.json + safetensors), a .gguf file, or a Hugging Face repo id (ORG/NAME[@REVISION]) in the local cache.")
    var model: String

    @Option(help: "Revision of a Hugging Face repo id (branch, tag or commit); default main.")
    var revision: String?

    @Flag(help: "Dequantize a GGUF file's quantized weights to Float32 on load. By default they stay in their blocks (Q8_0, Q4_0, Q4_1, Q4_K, …): about a fifth of the memory, the same results up to float32 summation order.")
    var dequantize = false

    /// The model, its tokenizer, and the cost of loading (printed to standard error).
    func load(quiet: Bool = false) throws -> LoadedModel {
        var location = try ModelLocation(parsing: model)
        if let revision {
            guard case .huggingFace(let repo, _) = location else {
                throw ModelError.invalidInput("--revision applies to Hugging Face repo ids; --model \(model) is a local folder or file")
            }
            location = .huggingFace(repo: repo, revision: revision)
        }
        let loaded = try ModelLoader.load(location, quantizedWeights: dequantize ? .dequantize : .keep)
        if !quiet {
            let note = String(format: "loaded %@ (%@) in %.2f s, peak memory %.0f MiB\n", loaded.source, loaded.model.modelType,
                              loaded.loadSeconds, loaded.peakMemoryMiB)
            FileHandle.standardError.write(Data(note.utf8))
        }
        return loaded
    }
}

/// `--json`, shared by the commands that print results.
struct OutputOptions: ParsableArguments {
    @Flag(help: "Print one JSON object instead of a table.")
    var json = false
}

/// Prints a JSON object (sorted keys) on one line.
func printJSON(_ object: Any) throws {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}

/// A plain text table with left-aligned columns.
func table(_ header: [String], _ rows: [[String]]) -> String {
    let widths = header.indices.map { c in ([header] + rows).map { $0[c].count }.max() ?? 0 }
    func line(_ cells: [String]) -> String {
        zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
            .trimmingCharacters(in: .whitespaces)
    }
    return ([line(header), line(widths.map { String(repeating: "-", count: $0) })] + rows.map(line)).joined(separator: "\n")
}
