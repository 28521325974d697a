import ArgumentParser
import CausalAbstraction
import Features
import Foundation
import Intervene
import Models

/// `intervene attribute --model M --prompt P --target T [--distractor D] [--source S] …`.
struct AttributeCommand: ExecutingCommand {
    static let configuration = CommandConfiguration(
        commandName: "attribute",
        abstract: "Which neurons, heads and components cause an answer: activation × gradient, direct logit attribution, attribution patching.",
        discussion: """
        The metric is logit(target) − logit(distractor) at the last position (or --metric logit / loss). Prints the top nodes
        (MLP neurons, attention heads and --sae latents, every position) by activation × gradient — (source − base) × gradient with
        --source, where --method ig averages the gradient over --steps points between the prompt's and the source's token
        embeddings — and the direct logit attribution of each head, attention bias, MLP and the embeddings through the final norm with its scale
        frozen. With --source (as many tokens as the prompt), also the layers × positions grid of the gradient estimate next to real
        activation patching at --component, their correlation and timings, and both grids as SVG with --svg-dir.
        --out DIR writes DIR/attribution.json (format "intervene-attribution", kind "attribution": the prompt, metric, method,
        the top --top nodes, the direct logit attribution and the grids; see AttributionFile) and, with --source, the two SVGs,
        a folder `intervene serve` and `export-html` show as a sortable node table.
        Example: intervene attribute --model SmolLM2.gguf --prompt "The capital of France is" --target " Paris" --distractor " Rome" \\
                 --source "The capital of Italy is" --svg-dir out
        """
    )

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "The prompt.")
    var prompt: String

    @Option(help: "The answer whose logit the metric raises (one token, e.g. \" Paris\").")
    var target: String

    @Option(help: "The competing answer (one token) of the logit-diff metric.")
    var distractor: String?

    @Option(help: "logit-diff (target − distractor), logit, or loss (−log p(target)).")
    var metric: String = AttributionPrompt.MetricChoice.difference.rawValue

    @Option(help: "A source prompt with as many tokens: attributions become (source − base) × gradient, and patching is compared.")
    var source: String?

    @Option(help: "atp (one backward pass) or ig (integrated gradients).")
    var method: String = "ig"

    @Option(help: "The integrated-gradients path: input (token embeddings), layer, or node (exact in the limit, costly).")
    var path: String = IntegrationPath.input.rawValue

    @Option(help: "Integrated-gradients steps.")
    var steps: Int = 8

    @Option(parsing: .unconditional, help: "The component of the patching grid (position-major, at every layer).")
    var component: String = Component.blockOutput.rawValue

    @Option(help: "How many top nodes to print.")
    var top: Int = 20

    @Option(help: "Write the full result as JSON to this file.")
    var json: String?

    @Option(help: "A sparse autoencoder as SITE=FOLDER (an SAELens folder: cfg.json + sae_weights.safetensors), spliced in at every position with its error term kept; its latents are attributed too. Repeatable.")
    var sae: [String] = []

    @Option(help: "A folder for attribution.json (and, with --source, the grids as SVG) that `intervene serve` browses.")
    var out: String?

    @Option(name: .customLong("svg-dir"), help: "Write the patching and attribution grids as SVG heatmaps into this folder (needs --source).")
    var svgDir: String?

    func validate() throws {
        guard top >= 1 else { throw ValidationError("--top must be at least 1, got \(top)") }
        guard steps >= 1 && steps <= 4096 else { throw ValidationError("--steps must be in 1...4096, got \(steps)") }
        guard ["atp", "ig"].contains(method) else { throw ValidationError("--method '\(method)' is not one of atp, ig") }
        guard IntegrationPath(rawValue: path) != nil else {
            throw ValidationError("--path '\(path)' is not one of \(IntegrationPath.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard AttributionPrompt.MetricChoice(rawValue: metric) != nil else {
            throw ValidationError("--metric '\(metric)' is not one of \(AttributionPrompt.MetricChoice.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if svgDir != nil && source == nil { throw ValidationError("--svg-dir needs --source (the grids compare patching from the source)") }
    }

    var attributionMethod: AttributionMethod {
        method == "atp" ? .linear : .integratedGradients(steps: steps, path: IntegrationPath(rawValue: path)!)
    }

    /// Attributes, prints the tables and writes the files; returns the JSON report. Throws typed
    /// errors for every bad argument.
    @discardableResult
    func execute() throws -> [String: Any] {
        let loaded = try modelOptions.load()
        let question = try AttributionPrompt(tokenizer: try loaded.requireTokenizer(), prompt: prompt, source: source, target: target,
                                             distractor: distractor, metric: AttributionPrompt.MetricChoice(rawValue: metric)!)
        if let vocabulary = (loaded.model as? any CausalLanguageModel)?.vocabularySize { try question.metric.check(vocabulary: vocabulary) }
        if question.source != nil { _ = try AttributionPatching.gridSpec(Component(component), model: loaded.model) }
        let latents = try intervenable(loaded.model)
        // Node attribution follows --method where it can: integrated gradients along the input path need a source.
        let nodeMethod: AttributionMethod = source == nil || method == "atp" ? .linear : .integratedGradients(steps: steps, path: .input)
        let nodeBar = TerminalProgress(label: "attributing")
        let nodes = try NodeAttribution.run(model: loaded.model, base: question.base, source: question.source, metric: question.metric,
                                            method: nodeMethod, latents: latents, progress: { nodeBar.update($0, $1) })
        print(AttributeReport.nodesText(nodes, question: question, top: top))
        var report: [String: Any] = ["prompt": prompt, "tokens": question.baseTokens, "metric": question.label,
                                     "target": target, "nodes": AttributeReport.nodesJSON(nodes, question: question, top: top)]
        if let distractor { report["distractor"] = distractor }
        if let dla = nodes.directLogitAttribution {
            print("")
            print(AttributeReport.dlaText(dla, metric: nodes.metric))
            report["direct_logit_attribution"] = AttributeReport.dlaJSON(dla)
        }
        var patchingGrids: AttributionPatching?
        if let sourceIds = question.source {
            let bar = TerminalProgress(label: "patching")
            let grids = try AttributionPatching.run(model: loaded.model, base: question.base, source: sourceIds,
                                                    component: Component(component), metric: question.metric, method: attributionMethod,
                                                    progress: { bar.update($0, $1) })
            print("")
            print(AttributeReport.gridText(grids, tokens: question.baseTokens, component: component))
            report["source"] = source
            report["patching"] = AttributeReport.gridJSON(grids, component: component)
            if let svgDir { try AttributeReport.writeSVG(grids, tokens: question.baseTokens, component: component, to: svgDir) }
            patchingGrids = grids
        }
        if let json { try AttributeReport.write(report, to: json) }
        if let out {
            let file = AttributionFile(prompt: prompt, question: question, target: target, distractor: distractor, source: source,
                                       nodes: nodes, top: top, grids: patchingGrids, component: component)
            try file.write(to: out)
            if let patchingGrids { try AttributeReport.writeSVG(patchingGrids, tokens: question.baseTokens, component: component, to: out) }
        }
        return report
    }

    /// The --sae autoencoders as an intervenable model over `model` (nil without any).
    func intervenable(_ model: any HookableModel) throws -> IntervenableModel? {
        guard !sae.isEmpty else { return nil }
        var representations: [RepresentationConfig] = [], prebuilt: [Int: any Intervention] = [:]
        for (i, entry) in sae.enumerated() {
            guard let equals = entry.firstIndex(of: "="), equals != entry.startIndex, entry.index(after: equals) != entry.endIndex else {
                throw SAEError.invalid(field: "--sae", value: "'\(entry)'", allowed: "SITE=FOLDER, e.g. 10:block_output=saes/layer10")
            }
            let site = try model.siteTable.resolved(try Site(parsing: String(entry[..<equals])))
            let spec = try model.siteTable.spec(for: site)
            let autoencoder = try SAELensFormat.load(folder: String(entry[entry.index(after: equals)...]))
            guard autoencoder.width == spec.unitDimension else {
                throw SAEError.invalid(field: "--sae", value: "'\(entry)' (an SAE over width \(autoencoder.width))",
                                       allowed: "an SAE over the width of \(site) (\(spec.unitDimension))")
            }
            prebuilt[i] = try SparseAutoencoderIntervention(sae: autoencoder)
            representations.append(RepresentationConfig(layer: site.layer, component: site.component))
        }
        return try IntervenableModel(config: IntervenableConfig(representations: representations), model: model, prebuilt: prebuilt)
    }
}

