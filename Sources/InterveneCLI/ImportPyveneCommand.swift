import ArgumentParser
import Foundation
import Intervene
import Models

/// `intervene import-pyvene DIR --model M --out BUNDLE`.
struct ImportPyveneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-pyvene",
        abstract: "Import a folder saved by pyvene's IntervenableModel.save as an intervention bundle for a model.",
        discussion: """
        DIR holds pyvene's config.json and one intkey_<key>.bin per trainable intervention. The weights files are read
        without running any code (tensors, dicts, lists and plain values only; any other pickle global is refused).
        Rotations saved through torch's orthogonal parametrization are turned into their matrices. The bundle is checked
        against --model (the model the interventions were trained on) and can be used with `evaluate`, `run` and `inspect`.
        """
    )

    @Argument(help: "The folder pyvene's IntervenableModel.save wrote.")
    var folder: String

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var output: OutputOptions

    @Option(help: "The bundle folder to write (replaced if it exists).")
    var out: String

    /// Imports and saves; returns the intervenable model written.
    @discardableResult
    func execute() throws -> IntervenableModel {
        let saved = try PyveneSavedFolder.read(folder)
        let loaded = try modelOptions.load(quiet: output.json)
        let intervenable = try saved.intervenableModel(on: loaded.model)
        let command = "intervene import-pyvene \(folder) --model \(modelOptions.model) --out \(out)"
        let types = saved.entries.map(\.pyveneType)
        try InterventionBundle.save(intervenable, to: out, modelSource: loaded.source,
                                    provenance: .init(command: command, seed: 0, data: "pyvene folder \(folder)"),
                                    card: .init(title: "Imported from pyvene", task: "Interventions trained with pyvene (\(types.joined(separator: ", "))).",
                                                training: "Trained with pyvene and saved with IntervenableModel.save to \(folder); imported unchanged.",
                                                reproduce: command))
        if output.json {
            try printJSON(["out": out, "interventions": saved.entries.map { ["key": $0.key, "type": $0.pyveneType] }, "mode": saved.mode.rawValue])
        } else {
            print("wrote \(saved.entries.count) intervention\(saved.entries.count == 1 ? "" : "s") (\(types.joined(separator: ", "))) to \(out)")
        }
        return intervenable
    }

    func run() throws {
        do { try execute() } catch { throw fail(error) }
    }
}
