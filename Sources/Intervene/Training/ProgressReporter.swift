import Foundation

/// A progress bar on a terminal (one line redrawn with "\r") or plain lines otherwise.
final class ProgressReporter {
    let total: Int
    let live: Bool
    let silent: Bool
    let label: String
    private var lastLine = 0.0
    private let start = Date()

    init(total: Int, label: String, style: ProgressStyle) {
        self.total = Swift.max(total, 1)
        self.label = label
        silent = style == .silent
        live = style == .automatic && isatty(STDERR_FILENO) == 1
    }

    /// Redraws the bar (at most 10 times a second) or prints a line (at most every 2 s);
    /// `values` is only evaluated when something is written.
    func update(step: Int, values: () -> [(String, Double)], force: Bool = false) {
        guard !silent else { return }
        let elapsed = Date().timeIntervalSince(start)
        let due = force || step >= total || elapsed - lastLine >= (live ? 0.1 : 2)
        guard due else { return }
        lastLine = elapsed
        let fraction = Double(step) / Double(total)
        let stats = values().map { String(format: "%@ %.4f", $0.0, $0.1) }.joined(separator: "  ")
        if live {
            let width = 28
            let filled = Int(fraction * Double(width))
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            let line = String(format: "\r%@ [%@] %3d%% %d/%d  %@  %.1fs", label, bar, Int(fraction * 100), step, total, stats, elapsed)
            FileHandle.standardError.write(Data(line.utf8))
            if step >= total { FileHandle.standardError.write(Data("\n".utf8)) }
        } else {
            FileHandle.standardError.write(Data(String(format: "%@ step %d/%d  %@  %.1fs\n", label, step, total, stats, elapsed).utf8))
        }
    }

    /// A line that does not disturb the bar.
    func note(_ text: String) {
        guard !silent else { return }
        FileHandle.standardError.write(Data(((live ? "\r\u{1B}[K" : "") + text + "\n").utf8))
    }
}
