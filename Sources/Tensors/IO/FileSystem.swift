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
}
