import Features
import Foundation

/// One cache folder the browser serves, read whole at start-up.
public enum ServedCache: Sendable {
    /// A codebook cache (`CodebookCache`, manifest kind "codebook-cache") with its per-code
    /// activation counts (one array of C counts per codebook, in manifest order).
    case codebook(path: String, manifest: CodebookCacheManifest, codes: CollectedCodes, counts: [[Int]])
    /// A latent cache (`LatentCache`, manifest kind "sae-latents").
    case latents(path: String, contents: LatentCache.Contents)
    /// An experiment output folder: a sweep, a trace, a bundle or an attribution run.
    case experiment(path: String, folder: ExperimentFolder)

    /// The folder it was read from.
    public var path: String {
        switch self {
        case .codebook(let path, _, _, _), .latents(let path, _), .experiment(let path, _): return path
        }
    }

    /// The folder's last path component, for titles.
    public var name: String { URL(fileURLWithPath: path).lastPathComponent }

    /// "codebook cache", "latent cache" or the experiment folder's kind.
    public var kindDescription: String {
        switch self {
        case .codebook: return "codebook cache"
        case .latents: return "latent cache"
        case .experiment(_, let folder): return folder.kindDescription
        }
    }

    /// Reads the folder at `path`, recognised by the `kind` of its manifest.json, else by the
    /// files of an experiment folder (`ExperimentFolder.markers`). Throws
    /// `ServeError.missingFolder` when there is no such folder, `unrecognisedFolder` when it has
    /// neither or a manifest of another kind, and `unreadableCache` when the reader refuses it.
    public static func load(_ path: String) throws -> ServedCache {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ServeError.missingFolder(path: path)
        }
        guard let bytes = FileManager.default.contents(atPath: path + "/manifest.json") else {
            guard let folder = try ExperimentFolder.load(path) else {
                throw ServeError.unrecognisedFolder(path: path, found: "no manifest.json, " + ExperimentFolder.markers.joined(separator: ", "))
            }
            return .experiment(path: path, folder: folder)
        }
        let head = try? JSONSerialization.jsonObject(with: bytes) as? [String: Any]
        guard let kind = head?["kind"] as? String else {
            throw ServeError.unrecognisedFolder(path: path, found: "a manifest.json without a \"kind\" string")
        }
        do {
            switch kind {
            case CodebookCache.kind:
                let (manifest, codes) = try CodebookCache.read(from: path)
                let counts = try codes.codebooks.map { try codes.activationCounts(codebook: $0.name) }
                return .codebook(path: path, manifest: manifest, codes: codes, counts: counts)
            case LatentCache.kind:
                return .latents(path: path, contents: try LatentCache.read(from: path))
            default:
                throw ServeError.unrecognisedFolder(path: path, found: "manifest kind \"\(kind)\"")
            }
        } catch let error as ServeError {
            throw error
        } catch {
            throw ServeError.unreadableCache(path: path, reason: "\(error)")
        }
    }
}

/// A folder `intervene serve` or `export-html` cannot serve; every message names the folder.
public enum ServeError: Error, CustomStringConvertible, Equatable {
    /// No folder at that path.
    case missingFolder(path: String)
    /// A folder without a recognised manifest.json.
    case unrecognisedFolder(path: String, found: String)
    /// A recognised cache its reader refused.
    case unreadableCache(path: String, reason: String)
    /// An option outside its domain (port, host, output folder).
    case invalidOption(field: String, value: String, allowed: String)
    /// The server could not listen on (or stopped serving) host:port.
    case serverFailed(address: String, reason: String)

    public var description: String {
        switch self {
        case .missingFolder(let path):
            return "cache folder '\(path)' does not exist; allowed: a folder written by `intervene codebook cache`, `sae latents`, `sweep`, `trace`, `patch` or `attribute --out`, or a bundle folder"
        case .unrecognisedFolder(let path, let found):
            return "folder '\(path)' is not a cache folder (\(found)); allowed: a manifest.json of kind \"\(CodebookCache.kind)\" or \"\(LatentCache.kind)\", or an experiment folder with \(ExperimentFolder.markers.joined(separator: ", "))"
        case .unreadableCache(let path, let reason):
            return "cache folder '\(path)' cannot be read: \(reason)"
        case .invalidOption(let field, let value, let allowed):
            return "\(field) is \(value); allowed: \(allowed)"
        case .serverFailed(let address, let reason):
            return "the server on \(address) failed: \(reason); allowed: a free port (--port 0 picks one)"
        }
    }
}
