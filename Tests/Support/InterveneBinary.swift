import Foundation

/// The `intervene` binary of this build (`swift build --build-tests` builds it beside the tests).
public let interveneBinary: String = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent(".build/debug/intervene").path

/// Runs `intervene` with `arguments` to completion; returns the exit status (a signal counts as
/// 1000 + signal), standard output and standard error.
public func runIntervene(_ arguments: [String]) throws -> (status: Int32, output: String, error: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: interveneBinary)
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let output = out.fileHandleForReading.readDataToEndOfFile(), error = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let status = process.terminationReason == .uncaughtSignal ? 1000 + process.terminationStatus : process.terminationStatus
    return (status, String(decoding: output, as: UTF8.self), String(decoding: error, as: UTF8.self))
}
