import Foundation
import Tensors

/// A model ready to use: the network, its tokenizer (when its files have one), and what loading
/// it cost.
public struct LoadedModel {
    /// The network, frozen.
    public let model: any HookableModel
    /// The tokenizer stored with the weights (tokenizer.json beside them, or a GGUF's
    /// `tokenizer.ggml.*` metadata); nil when there is none.
    public let tokenizer: (any Tokenizer)?
    /// Missing, unexpected or mis-shaped checkpoint keys (empty for a strict load).
    public let report: LoadReport
    /// Where the weights were read from (a folder or a file).
    public let source: String
    /// Wall-clock seconds spent loading.
    public let loadSeconds: Double
    /// The process's peak resident memory after loading, in MiB.
    public let peakMemoryMiB: Double

    public init(model: any HookableModel, tokenizer: (any Tokenizer)?, report: LoadReport, source: String,
                loadSeconds: Double, peakMemoryMiB: Double) {
        self.model = model
        self.tokenizer = tokenizer
        self.report = report
        self.source = source
        self.loadSeconds = loadSeconds
        self.peakMemoryMiB = peakMemoryMiB
    }

    /// The tokenizer, or a typed error naming the model when it has none.
    public func requireTokenizer() throws -> any Tokenizer {
        guard let tokenizer else {
            throw ModelError.missingWeights(folder: source, reason: "has no tokenizer (tokenizer.json or GGUF tokenizer metadata); give token ids instead of text")
        }
        return tokenizer
    }
}

/// The process's peak resident set size in MiB (Linux `ru_maxrss`).
public func peakResidentMemoryMiB() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_maxrss) / 1024
}
