/// A bundle that cannot be saved or loaded. Every case names the file, field or tensor at fault.
public enum BundleError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case invalidField(path: String, field: String, value: String, expected: String)
    case unsupportedVersion(path: String, found: String, supported: String)
    case modelMismatch(path: String, bundleModel: String, bundleFingerprint: String, modelFingerprint: String)
    case tensor(path: String, intervention: String, reason: String)
    case unsavable(key: String, type: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "\(path): cannot read bundle (\(reason))"
        case .invalidField(let path, let field, let value, let expected):
            return "\(path): field '\(field)' has value \(value); expected \(expected)"
        case .unsupportedVersion(let path, let found, let supported):
            return "\(path): bundle format/version \(found) is not supported (supported: \(supported))"
        case .modelMismatch(let path, let model, let bundleFP, let modelFP):
            return "\(path): this bundle was made for a different \(model) model (fingerprint \(bundleFP)); the given model has fingerprint \(modelFP)"
        case .tensor(let path, let intervention, let reason): return "\(path): intervention '\(intervention)': \(reason)"
        case .unsavable(let key, let type): return "intervention '\(key)' of type \(type) cannot be saved (closures are code, not data)"
        }
    }
}
