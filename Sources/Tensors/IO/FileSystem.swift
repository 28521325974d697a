import CKernels
import Foundation

/// Directory operations for atomic saves.
public enum FileSystem {
    /// Replaces the directory at `destination` with `fresh` so that a reader sees either the old
    /// or the new directory, never a mix: an atomic exchange (Linux renameat2) when both exist,
    /// a rename otherwise. The old content is deleted afterwards.
    public static func replaceDirectory(at destination: String, with fresh: String) throws {
        let manager = FileManager.default
        if manager.fileExists(atPath: destination) {
            let status = ik_exchange_paths(fresh, destination)
            if status == 0 {
                try? manager.removeItem(atPath: fresh)  // now holds the old directory
                return
            }
            // No atomic exchange: move the old one aside first, then into place, then delete.
            let aside = destination + ".old-\(UUID().uuidString)"
            try manager.moveItem(atPath: destination, toPath: aside)
            do { try manager.moveItem(atPath: fresh, toPath: destination) } catch {
                try? manager.moveItem(atPath: aside, toPath: destination)
                throw error
            }
            try? manager.removeItem(atPath: aside)
        } else {
            try manager.moveItem(atPath: fresh, toPath: destination)
        }
    }

    /// Runs `fill` on a fresh temporary sibling folder of `path`, then puts it in place of `path`
    /// (`replaceDirectory`); on failure the temporary folder is removed and `path` is untouched.
    public static func writeDirectoryAtomically(_ path: String, _ fill: (String) throws -> Void) throws {
        let manager = FileManager.default
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty { try manager.createDirectory(atPath: parent, withIntermediateDirectories: true) }
        let temporary = path + ".tmp-\(UUID().uuidString)"
        try manager.createDirectory(atPath: temporary, withIntermediateDirectories: true)
        do {
            try fill(temporary)
            try replaceDirectory(at: path, with: temporary)
        } catch {
            try? manager.removeItem(atPath: temporary)
            throw error
        }
    }
}
