import ArgumentParser
import Testing

/// Checks that `command` refuses its input: `execute` throws an error whose message contains
/// `message`, and `run()` ends with exit code 2 (invalid input). `label` names the case in
/// failure messages.
func expectRefused<C: ParsableCommand>(_ command: C, _ label: Any, message: String, execute: () throws -> Void,
                                       sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        try execute()
        Issue.record("\(label) was accepted", sourceLocation: sourceLocation)
    } catch {
        #expect("\(error)".contains(message), "\(label): \(error)", sourceLocation: sourceLocation)
    }
    var copy = command
    #expect(throws: ExitCode(2), sourceLocation: sourceLocation) { try copy.run() }
}
