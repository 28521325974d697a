import ArgumentParser
import Foundation
import Models

/// `intervene sites --model M`: every site of a model with its shape and names.
struct SitesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sites",
        abstract: "List every site of a model: its pyvene component, TransformerLens names, layers and shape.",
        discussion: "A site is written LAYER:COMPONENT (pyvene) or as a TransformerLens name (blocks.L.hook_resid_post, hook_embed, …)."
    )

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        do {
            let loaded = try modelOptions.load(quiet: output.json)
            let rows = SiteListing.rows(loaded.model.siteTable)
            if output.json {
                try printJSON(["model_type": loaded.model.modelType, "layers": loaded.model.siteTable.layers,
                               "sites": rows.map { $0.json }])
            } else {
                print("\(loaded.model.modelType): \(loaded.model.siteTable.layers) layers")
                print(table(["component", "TransformerLens", "layers", "unit dim", "shape"], rows.map(\.cells)))
            }
        } catch {
            throw fail(error)
        }
    }
}

/// One line of `intervene sites`.
struct SiteListing {
    let spec: SiteSpec
    let layers: String
    let transformerLens: [String]

    var cells: [String] {
        [spec.component.rawValue, transformerLens.joined(separator: ", "), layers, "\(spec.unitDimension)", spec.shape]
    }

    var json: [String: Any] {
        ["component": spec.component.rawValue, "transformer_lens": transformerLens, "layers": layers,
         "unit_dimension": spec.unitDimension, "pyvene_dimension": spec.pyveneDimension, "shape": spec.shape]
    }

    /// Every site of `table`, sorted by component name, with the TransformerLens names that reach it.
    static func rows(_ table: SiteTable) -> [SiteListing] {
        var aliases: [Component: [String]] = [:]
        for (hook, component) in Site.transformerLensAliases { aliases[component, default: []].append("blocks.L." + hook) }
        for (hook, site) in Site.transformerLensModelHooks { aliases[site.component, default: []].append(hook) }
        return table.components.map { component in
            let spec = table.specs[component]!
            var names = (aliases[component] ?? []).sorted()
            if names.isEmpty && component.rawValue.contains("hook_") { names = ["blocks.L." + component.rawValue] }
            let layers: String
            switch spec.layers {
            case .all: layers = "0..<\(table.layers)"
            case .first: layers = "0"
            case .last: layers = "\(table.layers - 1)"
            }
            return SiteListing(spec: spec, layers: layers, transformerLens: names)
        }
    }
}
