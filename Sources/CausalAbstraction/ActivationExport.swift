import Foundation
import Intervene
import Models
import Tensors

/// Activations of a model on a list of prompts, written to one safetensors file for analysis
/// elsewhere (numpy, torch, another tool).
///
/// File layout: for prompt i (in file order) and each site, `prompt_<i>/<site>` holds the
/// activation in the site's view with the batch axis dropped — (S, D) for residual sites,
/// (H, S, d) for pyvene head sites, (S, H, d) for TransformerLens head layouts — and
/// `prompt_<i>/ids` the token ids (int64). The metadata holds `prompts` (a JSON list of the
/// texts), `sites` (a JSON list of the site names as given) and `model_type`.
public enum ActivationExport {
    /// Runs each prompt once and gathers the activations at `sites` (names as `Site(parsing:)`
    /// reads them). Throws for an empty prompt list, an empty prompt or an unknown site.
    public static func collect(model: any HookableModel, tokenizer: any Tokenizer, prompts: [String],
                               sites names: [String]) throws -> (items: [String: SafeTensorsWriter.Item], metadata: [String: String]) {
        guard !prompts.isEmpty else {
            throw ExperimentError.invalid(file: "--prompts", field: "prompts", value: "[]", expected: "at least one prompt")
        }
        guard !names.isEmpty else { throw ExperimentError.invalid(file: "--sites", field: "sites", value: "[]", expected: "at least one site") }
        let sites = try names.map { try Site(parsing: $0) }
        var items: [String: SafeTensorsWriter.Item] = [:]
        for (i, prompt) in prompts.enumerated() {
            let ids = tokenizer.encode(prompt).ids
            guard !ids.isEmpty else {
                throw ExperimentError.invalid(file: "--prompts", field: "prompt \(i + 1)", value: "\"\(prompt)\"", expected: "text with at least one token")
            }
            let input = IndexTensor(shape: [1, ids.count], values: ids)
            let (_, cache) = try Tensor.withoutGradients { try model.runWithCache(.tokens(input), sites: sites) }
            for (site, name) in zip(sites, names) {
                guard let activation = cache[site] else { continue }
                items["prompt_\(i)/\(name)"] = .float(activation.shape.first == 1 ? activation.squeezed(0).contiguous() : activation.contiguous())
            }
            items["prompt_\(i)/ids"] = .int64(IndexTensor(shape: [ids.count], values: ids))
        }
        func json(_ list: [String]) -> String {
            String(decoding: (try? JSONSerialization.data(withJSONObject: list)) ?? Data("[]".utf8), as: UTF8.self)
        }
        return (items, ["prompts": json(prompts), "sites": json(names), "model_type": model.modelType])
    }

    /// Collects and writes the file at `path` (atomically replaced).
    public static func write(model: any HookableModel, tokenizer: any Tokenizer, prompts: [String], sites: [String], to path: String) throws {
        let (items, metadata) = try collect(model: model, tokenizer: tokenizer, prompts: prompts, sites: sites)
        try SafeTensorsWriter.write(items, metadata: metadata, to: path)
    }

    /// Prompts from a text file: one per line, blank lines skipped; a `.jsonl` file may hold one
    /// JSON string (or {"prompt": …}) per line instead.
    public static func prompts(fromFile path: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ExperimentError.invalid(file: path, field: "(file)", value: "missing", expected: "a readable file of prompts, one per line")
        }
        // Lines end at \n, \r\n or \r (Swift reads "\r\n" as one character, so split on newlines).
        let lines = String(decoding: data, as: UTF8.self).split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(String.init)
        var prompts: [String] = []
        for (n, line) in lines.enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            guard path.hasSuffix(".jsonl") else { prompts.append(line); continue }
            let value = try? JSONValue.parse(line)
            guard let text = value?.stringValue ?? value?["prompt"]?.stringValue else {
                throw ExperimentError.invalid(file: "\(path):\(n + 1)", field: "(line)", value: "…", expected: "a JSON string or {\"prompt\": text}")
            }
            prompts.append(text)
        }
        return prompts
    }
}
