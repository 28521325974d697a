import Foundation
import Intervene
import Models
import Tensors

/// Cases of the pyvene-golden/v1 format (tiny-gpt2, tiny-gpt-neox, tiny-llama, mlp, gru, …).
struct PyveneGoldenCases {
    let data: GoldenFolder
    let loaded: Result<LoadedModel, Error>
    var model: Result<any HookableModel, Error> { loaded.map(\.model) }

    init(_ data: GoldenFolder) {
        self.data = data
        loaded = Result { try GoldenModels.load(data) }
    }

    func runAll() -> [GoldenResult] {
        (componentTable().map { [$0] } ?? []) + cases()
    }

    /// The model's site table has every component of the manifest's pyvene component table, with
    /// the dimension pyvene records for it (a result of its own, "pyvene_component_table").
    func componentTable() -> GoldenResult? {
        guard let table = data.manifest["model"]?["pyvene_component_table"]?.objectValue else { return nil }
        let dims = data.manifest["model"]?["pyvene_component_dims"]?.objectValue
        let entry = JSONValue.object(JSONObject([("name", .string("pyvene_component_table")), ("kind", .string("component_table"))]))
        return GoldenRunner.result(entry) {
            let model = try self.model.get()
            var problems: [String] = []
            for name in table.keys.sorted() {
                guard let spec = model.siteTable.specs[Component(name)] else { problems.append("\(name) is missing"); continue }
                if let expected = dims?[name]?.intValue, expected != spec.pyveneDimension {
                    problems.append("\(name) has pyvene dimension \(spec.pyveneDimension), pyvene records \(expected)")
                }
            }
            guard problems.isEmpty else { throw GoldenFailure(problems.joined(separator: "; ")) }
            return nil
        }
    }

    func cases() -> [GoldenResult] {
        data.cases.map { c in
            GoldenRunner.result(c) {
                try LaterCapabilities.checkInterventions(c)
                let model: any HookableModel
                do { model = try self.model.get() } catch let ModelError.unknownModelType(type, known) {
                    throw GoldenSkip("model family '\(type)' is not supported (supported: \(known.joined(separator: ", ")))")
                }
                if let reason = PyveneCaseSetup.deliberateDifferences[c["name"]?.stringValue ?? ""] { throw GoldenSkip(reason) }
                switch c["kind"]?.stringValue ?? "" {
                case "tokenize": return try tokenize(c, try loaded.get().tokenizer)
                case "forward": return try forward(c, model)
                case "collect": return try collect(c, model)
                case "intervene": return try intervene(c, model)
                case "generate": return try generate(c, model)
                case "loss_grad": return try lossGrad(c, model)
                default: throw GoldenSkip("case kind '\(c["kind"]?.stringValue ?? "?")' is not implemented yet")
                }
            }
        }
    }

    func forward(_ c: JSONValue, _ model: any HookableModel) throws -> Float? {
        var comparator = GoldenComparator()
        let base = try PyveneCaseSetup(data: data, c: c).input(c["base"])
        let expected = c["expected"]?.objectValue ?? JSONObject()
        let output = try model.forward(base, options: ForwardOptions(outputHiddenStates: true))
        for (key, entry) in expected {
            if try comparator.checkLogits(key, output.output, expected: entry, in: data) {
                continue
            } else if key == "source_logits" {
                guard let baseName = c["base"]?.objectValue?.values.values.first?.stringValue else { continue }
                let sourceName = baseName.replacingOccurrences(of: "inputs.base_", with: "inputs.source_")
                let source: ModelInput = data.dtype(sourceName) == "int64" ? .tokens(try data.integers(sourceName)) : .embeddings(try data.tensor(sourceName))
                try comparator.check(key, try model.forward(source, options: ForwardOptions()).output, expected: entry, in: data)
            } else if key.hasPrefix("hidden_states."), let i = Int(key.dropFirst("hidden_states.".count)) {
                guard i < output.hiddenStates.count else { throw GoldenFailure("\(key): model returned \(output.hiddenStates.count) hidden states") }
                try comparator.check(key, output.hiddenStates[i], expected: entry, in: data)
            } else if key == "cell_outputs" {
                // (layers, steps, B, h) from per-layer (B, S, h).
                let stacked = Tensor.stack(output.hiddenStates.map { $0.permuted([1, 0, 2]) }, axis: 0)
                try comparator.check(key, stacked, expected: entry, in: data)
            } else {
                throw GoldenSkip("expected key '\(key)' is not understood")
            }
        }
        try comparator.verdict()
        return comparator.maxAbsError
    }

    /// Builds the case's IntervenableModel and runs it without gradients.
    func runIntervened(_ c: JSONValue, _ model: any HookableModel) throws -> (PyveneCaseSetup, IntervenableModel, InterventionOutput) {
        let setup = PyveneCaseSetup(data: data, c: c)
        let config = try setup.config()
        let intervenable = try IntervenableModel(config: config, model: model)
        try setup.loadParameters(into: intervenable)
        let out = try Tensor.withoutGradients {
            try intervenable.forward(base: try setup.input(c["base"]), sources: try setup.sources(),
                                     unitLocations: try setup.locations(for: config), subspaces: try setup.subspaces(count: config.representations.count))
        }
        return (setup, intervenable, out)
    }

    func collect(_ c: JSONValue, _ model: any HookableModel) throws -> Float? {
        let (setup, _, out) = try runIntervened(c, model)
        var comparator = GoldenComparator()
        for (key, entry) in c["expected"]?.objectValue ?? JSONObject() {
            if key == "output_logits_unchanged" || key == "logits" {
                try comparator.check(key, out.intervened.output, expected: entry, in: data)
                continue
            }
            guard let i = setup.representationIndex(forKey: key, entry: entry) else {
                throw GoldenSkip("expected key '\(key)' matches no representation")
            }
            try comparator.check(key, try pyveneView(try out.collected(i), entry: entry, representation: setup.representations[i]),
                                 expected: entry, in: data)
        }
        try comparator.verdict()
        return comparator.maxAbsError
    }

    /// pyvene gathers a "pos" unit with an index expanded to the representation's component_dim,
    /// so where a site is wider than that (Gemma 2's query and attention-value outputs: H·hd = 48
    /// against hidden_size 32) it collects only the first component_dim features. Intervene
    /// collects the whole activation; the golden prefix is compared against the same prefix.
    func pyveneView(_ collected: Tensor, entry: JSONValue, representation r: JSONValue) throws -> Tensor {
        guard let name = entry["tensor"]?.stringValue, let expected = try? data.tensor(name), let dim = r["component_dim"]?.intValue,
              expected.rank == collected.rank, let last = expected.shape.last, last == dim, last < collected.shape[collected.rank - 1]
        else { return collected }
        return collected.narrowed(collected.rank - 1, start: 0, length: last)
    }

    func intervene(_ c: JSONValue, _ model: any HookableModel) throws -> Float? {
        let (_, _, out) = try runIntervened(c, model)
        var comparator = GoldenComparator()
        let quirky = c["quirk"] != nil
        for (key, entry) in c["expected"]?.objectValue ?? JSONObject() {
            if quirky && PyveneCaseSetup.buggyKeys.contains(key) && (c["expected"]?.objectValue?.keys.contains(key + "_intended") ?? false) { continue }
            guard try comparator.checkLogits(key, out.intervened.output, expected: entry, in: data) else {
                throw GoldenSkip("expected key '\(key)' is not understood")
            }
        }
        try comparator.verdict()
        return comparator.maxAbsError
    }

    func generate(_ c: JSONValue, _ model: any HookableModel) throws -> Float? {
        guard let decoder = model as? any CausalLanguageModel else { throw GoldenFailure("\(model.modelType) cannot generate") }
        let setup = PyveneCaseSetup(data: data, c: c)
        guard case .tokens(let prompt) = try setup.input(c["base"]) else { throw GoldenSkip("generation needs token ids") }
        let kwargs = c["generate_kwargs"]
        guard kwargs?["do_sample"]?.boolValue != true, (kwargs?["num_beams"]?.intValue ?? 1) == 1 else {
            throw GoldenSkip("only greedy generation is compared")
        }
        let generation = GenerationConfig(maxNewTokens: kwargs?["max_new_tokens"]?.intValue ?? 6,
                                          useCache: kwargs?["use_cache"]?.boolValue ?? true)
        let result: GenerationResult
        if setup.representations.isEmpty {
            result = try Generator.generate(decoder, prompt: prompt, config: generation)
        } else {
            let config = try setup.config()
            let intervenable = try IntervenableModel(config: config, model: model)
            let onPrompt = c["intervene_on_prompt"]?.boolValue ?? true
            result = try intervenable.generate(prompt: prompt, sources: try setup.sources(), unitLocations: try setup.locations(for: config),
                                               subspaces: try setup.subspaces(count: config.representations.count),
                                               timing: onPrompt ? .prompt : .everyGeneratedToken, config: generation).intervened
        }
        var comparator = GoldenComparator()
        for (key, entry) in c["expected"]?.objectValue ?? JSONObject() {
            switch key {
            case "sequences":
                let expected = try data.integers(entry["tensor"]?.stringValue ?? "")
                comparator.check(key, Array(result.sequences.joined()), expected.values)
            case "first_step_logits":
                try comparator.check(key, result.firstStepLogits, expected: entry, in: data)
            default:
                throw GoldenSkip("expected key '\(key)' is not understood")
            }
        }
        try comparator.verdict()
        return comparator.maxAbsError
    }
}
