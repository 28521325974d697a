import ArgumentParser

/// A command whose work is `execute()` (which tests call directly); `run()` reports its errors
/// on standard error and exits with the documented code (`fail`).
protocol ExecutingCommand: ParsableCommand {
    associatedtype Outcome
    func execute() throws -> Outcome
}

extension ExecutingCommand {
    func run() throws {
        do {
            _ = try execute()
        } catch {
            throw fail(error)
        }
    }
}
