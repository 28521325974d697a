import Intervene
import Tensors

/// Capabilities that later issues build. A golden case that needs one of them is reported as
/// skipped with the capability's name while the library lacks it, never as passed — and runs
/// (and counts) as soon as the capability exists.
enum LaterCapabilities {
    /// Intervention types on the wire, and the capability that provides them.
    static let interventionTypes: [String: String] = [:]

    /// Manifest formats whose runner a later issue adds.
    static let manifestFormats: [String: String] = [:]

    /// Throws `GoldenSkip` when the case uses an intervention type that is not registered yet.
    static func checkInterventions(_ c: JSONValue) throws {
        let known = Set(InterventionRegistry.shared.typeNames)
        for r in c["representations"]?.arrayValue ?? [] {
            guard let type = r["intervention_type"]?.stringValue, !known.contains(type),
                  let capability = interventionTypes[type] else { continue }
            throw GoldenSkip("needs \(capability)")
        }
    }
}
