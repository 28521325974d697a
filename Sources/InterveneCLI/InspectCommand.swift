import ArgumentParser
import Foundation
import Intervene
import Tensors

/// `intervene inspect BUNDLE`.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Print what a bundle holds: model, representations, interventions, tensors, metrics."
    )

    @Argument(help: "The bundle directory.")
    var bundle: String

    func run() throws {
        do {
            let m = try InterventionBundle.manifest(at: bundle)
            var lines = ["bundle \(bundle)", "model: \(m.modelType) \(m.fingerprint) from \(m.modelSource)"]
            let weights = try SafeTensorsFile(path: bundle + "/weights.safetensors")
            for entry in m.interventions {
                lines.append("intervention \(entry["key"]?.stringValue ?? "?"): \(entry["type"]?.stringValue ?? "?") \(entry["hyperparameters"]?.serialized() ?? "{}")")
                for name in (entry["tensors"]?.arrayValue ?? []).compactMap(\.stringValue) {
                    let shape = weights.entries[name].map { "\($0.shape) \($0.dtype.rawValue)" } ?? "MISSING"
                    lines.append("  tensor \(name) \(shape)")
                }
            }
            if let reps = m.json["config"]?["representations"]?.arrayValue {
                for (i, r) in reps.enumerated() { lines.append("representation \(i): \(r.serialized())") }
            }
            for (k, v) in m.metrics.sorted(by: { $0.key < $1.key }) { lines.append(String(format: "metric %@: %.4f", k, v)) }
            if let p = m.json["provenance"] { lines.append("provenance: \(p.serialized())") }
            print(lines.joined(separator: "\n"))
        } catch {
            throw fail(error)
        }
    }
}
