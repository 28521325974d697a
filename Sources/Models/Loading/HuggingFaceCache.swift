import Foundation

/// Finds models in the local Hugging Face cache, offline — the folders `huggingface_hub`
/// writes: `<cache>/models--ORG--NAME/snapshots/<commit>/…`, with `refs/<branch>` files holding
/// the commit a branch or tag points to.
public enum HuggingFaceCache {
    /// The cache folders searched, in order: `$HF_HUB_CACHE`, `$HF_HOME/hub`,
    /// `$XDG_CACHE_HOME/huggingface/hub`, `~/.cache/huggingface/hub` (each only when its variable
    /// is set, duplicates removed).
    public static func roots(environment: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        var roots: [String] = []
        if let hub = environment["HF_HUB_CACHE"], !hub.isEmpty { roots.append(hub) }
        if let home = environment["HF_HOME"], !home.isEmpty { roots.append(home + "/hub") }
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty { roots.append(xdg + "/huggingface/hub") }
        if let home = environment["HOME"], !home.isEmpty { roots.append(home + "/.cache/huggingface/hub") }
        var seen = Set<String>()
        return roots.filter { seen.insert(($0 as NSString).standardizingPath).inserted }
    }

    /// True for text that reads as a repo id ("ORG/NAME" or a bare "NAME" such as "gpt2",
    /// optionally "@REVISION").
    public static func isRepoID(_ text: String) -> Bool {
        let (repo, _) = split(text)
        let parts = repo.split(separator: "/", omittingEmptySubsequences: false)
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_."))
        return (1...2).contains(parts.count) && parts.allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." &&
            $0.unicodeScalars.allSatisfy { allowed.contains($0) } }
    }

    /// The snapshot folder of `repoID` ("ORG/NAME" or "ORG/NAME@REVISION"; `revision` overrides)
    /// at a branch or tag (through `refs/`) or a commit hash; "main" by default. Throws
    /// `ModelError.notFound` listing every place searched.
    public static func snapshot(_ repoID: String, revision: String? = nil,
                                environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        let (repo, inlineRevision) = split(repoID)
        guard isRepoID(repo) else {
            throw ModelError.invalidInput("'\(repoID)' is not a Hugging Face repo id (ORG/NAME or NAME, optionally @REVISION)")
        }
        let rev = revision ?? inlineRevision ?? "main"
        let folderName = "models--" + repo.replacingOccurrences(of: "/", with: "--")
        var searched: [String] = []
        let files = FileManager.default
        for root in roots(environment: environment) {
            let repoFolder = root + "/" + folderName
            let refFile = repoFolder + "/refs/" + rev
            searched.append(refFile)
            if let commit = try? String(contentsOfFile: refFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
               !commit.isEmpty, !commit.contains("/"), files.fileExists(atPath: repoFolder + "/snapshots/" + commit) {
                return repoFolder + "/snapshots/" + commit
            }
            let direct = repoFolder + "/snapshots/" + rev
            searched.append(direct)
            if !rev.contains("/"), files.fileExists(atPath: direct) { return direct }
        }
        throw ModelError.notFound(what: "\(repo) at revision \(rev) in the Hugging Face cache", searched: searched)
    }

    static func split(_ text: String) -> (repo: String, revision: String?) {
        guard let at = text.firstIndex(of: "@") else { return (text, nil) }
        return (String(text[..<at]), String(text[text.index(after: at)...]))
    }
}
