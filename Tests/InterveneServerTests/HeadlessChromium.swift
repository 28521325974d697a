import Foundation

/// Debian's `chromium` (or `chromium-browser`, `google-chrome`) run headless: the DOM after the
/// page's scripts ran, and a PNG screenshot.
enum HeadlessChromium {
    static let names = ["chromium", "chromium-browser", "google-chrome"]

    /// The first browser found on PATH, or nil.
    static let path: String? = {
        let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        for name in names {
            for directory in directories where FileManager.default.isExecutableFile(atPath: "\(directory)/\(name)") {
                return "\(directory)/\(name)"
            }
        }
        return nil
    }()

    /// Why the browser tests are skipped when `path` is nil.
    static let missing = "needs a headless Chromium: none of \(names.joined(separator: ", ")) is on PATH (Debian: apt-get install chromium)"

    /// Runs the browser with `arguments` + `url` off the cooperative pool; returns standard output.
    static func run(_ arguments: [String], url: String) async throws -> String {
        guard let path else { throw CocoaError(.executableNotLoadable) }
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: path)
                process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=" + NSTemporaryDirectory() + "chromium-\(UUID().uuidString)"]
                    + arguments + [url]
                let out = Pipe()
                process.standardOutput = out
                process.standardError = FileHandle.nullDevice
                do {
                    try process.run()
                    let data = out.fileHandleForReading.readDataToEndOfFile()
                    process.waitUntilExit()
                    continuation.resume(returning: String(decoding: data, as: UTF8.self))
                } catch { continuation.resume(throwing: error) }
            }
        }
    }

    /// The page's DOM after its scripts ran.
    static func dom(_ url: String) async throws -> String { try await run(["--dump-dom", "--virtual-time-budget=2000"], url: url) }

    /// Writes a screenshot of the page to `file` (1200 × 900).
    static func screenshot(_ url: String, to file: String) async throws {
        _ = try await run(["--screenshot=" + file, "--window-size=1200,900", "--hide-scrollbars"], url: url)
    }
}
