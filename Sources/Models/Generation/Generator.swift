import Tensors

/// How the next token is chosen.
public enum DecodingStrategy: Sendable, Equatable {
    /// The most likely token.
    case greedy
    /// Sampling from softmax(logits / temperature), restricted to the `topK` most likely tokens
    /// (nil: no limit) and to the smallest set whose probability reaches `topP` (nil: no limit).
    case sample(temperature: Float = 1, topK: Int? = nil, topP: Float? = nil)
}

/// Settings of one generation.
public struct GenerationConfig: Sendable {
    /// Tokens to add at most.
    public var maxNewTokens: Int
    /// Greedy or sampling.
    public var strategy: DecodingStrategy
    /// A sequence stops after producing one of these (it is padded with `padToken` afterwards).
    public var stopTokens: Set<Int>
    /// Fills finished sequences.
    public var padToken: Int
    /// Seed of every sampling choice.
    public var seed: UInt64
    /// Reuse keys and values of earlier tokens (true) or re-run the whole sequence per step.
    public var useCache: Bool

    public init(maxNewTokens: Int, strategy: DecodingStrategy = .greedy, stopTokens: Set<Int> = [], padToken: Int = 0,
                seed: UInt64 = 0, useCache: Bool = true) {
        self.maxNewTokens = maxNewTokens
        self.strategy = strategy
        self.stopTokens = stopTokens
        self.padToken = padToken
        self.seed = seed
        self.useCache = useCache
    }
}

/// The outcome of generation.
public struct GenerationResult: Sendable {
    /// Prompt followed by the new tokens, per example (padded after a stop token).
    public var sequences: [[Int]]
    /// Logits of the last prompt position (B, V): the distribution of the first new token.
    public var firstStepLogits: Tensor
    /// New tokens generated per example (up to and including a stop token).
    public var generatedCounts: [Int]
}

/// Autoregressive decoding for causal language models, with a key/value cache.
public enum Generator {
    /// Generates up to `config.maxNewTokens` tokens after `prompt` (B, S).
    ///
    /// `attentionMask` (B, S) marks real prompt tokens (false for left padding); positions count
    /// only real tokens. `hooks(call)` supplies activation hooks for forward call `call`
    /// (0: the prompt, k: the k-th generated token).
    public static func generate(_ model: any CausalLanguageModel, prompt: IndexTensor, attentionMask: [[Bool]]? = nil,
                                config: GenerationConfig, hooks: ((Int) -> (any ActivationHooks)?)? = nil) throws -> GenerationResult {
        guard prompt.shape.count == 2, prompt.shape[0] > 0, prompt.shape[1] > 0 else {
            throw ModelError.invalidInput("prompt must be (B, S) with B, S > 0, got \(prompt.shape)")
        }
        guard config.maxNewTokens >= 0 else { throw ModelError.invalidInput("maxNewTokens must be ≥ 0, got \(config.maxNewTokens)") }
        if case .sample(let t, let k, let p) = config.strategy {
            guard t > 0, k.map({ $0 > 0 }) ?? true, p.map({ $0 > 0 && $0 <= 1 }) ?? true else {
                throw ModelError.invalidInput("sampling needs temperature > 0, top-k > 0 and 0 < top-p ≤ 1")
            }
        }
        let batch = prompt.shape[0], promptLength = prompt.shape[1]
        let (total, overflow) = promptLength.addingReportingOverflow(config.maxNewTokens)
        if let limit = model.maximumPositions ?? model.contextLength, overflow || total > limit {
            throw ModelError.invalidInput("a prompt of \(promptLength) tokens plus \(config.maxNewTokens) new tokens exceeds the model's context of \(limit) tokens (maxNewTokens at most \(Swift.max(0, limit - promptLength)))")
        }
        var mask = attentionMask ?? Array(repeating: Array(repeating: true, count: promptLength), count: batch)
        guard mask.count == batch, mask.allSatisfy({ $0.count == promptLength }) else {
            throw ModelError.invalidInput("attention mask must be (B, S) = (\(batch), \(promptLength))")
        }
        var sequences = (0..<batch).map { b in Array(prompt.values[(b * promptLength)..<((b + 1) * promptLength)]) }
        var finished = [Bool](repeating: false, count: batch)
        var counts = [Int](repeating: 0, count: batch)
        var generator = RandomGenerator(seed: config.seed)
        let cache = config.useCache ? model.makeCache(batchSize: batch, capacity: promptLength + config.maxNewTokens) : nil
        var firstLogits = Tensor.zeros([batch, model.vocabularySize])
        var nextInput = prompt
        for call in 0...config.maxNewTokens {
            let length = nextInput.shape[1]
            // Positions count real tokens only (left padding gets position 0).
            let positions: [[Int]] = mask.map { row in
                var running = -1
                let all = row.map { real -> Int in
                    if real { running += 1 }
                    return Swift.max(running, 0)
                }
                return Array(all.suffix(length))
            }
            var options = ForwardOptions(attentionMask: mask.allSatisfy { $0.allSatisfy { $0 } } ? nil : mask, positions: positions,
                                         cache: cache, hooks: hooks?(call))
            options.logitsForLastPositionOnly = true
            let out = try Tensor.withoutGradients { try model.forward(.tokens(nextInput), options: options) }
            guard !out.stoppedEarly else { throw ModelError.invalidInput("generation needs a full forward pass, but the hooks stopped it early") }
            let logits = out.output
            let last = logits.narrowed(1, start: logits.shape[1] - 1, length: 1).reshaped([batch, logits.shape[2]])
            if call == 0 { firstLogits = last.contiguous() }
            if call == config.maxNewTokens || finished.allSatisfy({ $0 }) { break }
            let chosen = choose(last, strategy: config.strategy, generator: &generator)
            var appended: [Int] = []
            for b in 0..<batch {
                let token = finished[b] ? config.padToken : chosen[b]
                sequences[b].append(token)
                appended.append(token)
                if !finished[b] {
                    counts[b] += 1
                    if config.stopTokens.contains(token) { finished[b] = true }
                }
                mask[b].append(true)
            }
            if cache != nil {
                nextInput = IndexTensor(shape: [batch, 1], values: appended)
            } else {
                nextInput = IndexTensor(shape: [batch, sequences[0].count], values: Array(sequences.joined()))
            }
        }
        return GenerationResult(sequences: sequences, firstStepLogits: firstLogits, generatedCounts: counts)
    }

    /// Picks one token per row of (B, V) logits.
    static func choose(_ logits: Tensor, strategy: DecodingStrategy, generator: inout RandomGenerator) -> [Int] {
        switch strategy {
        case .greedy:
            return logits.argmax(axis: -1).values
        case .sample(let temperature, let topK, let topP):
            let vocabulary = logits.shape[1]
            let rows = logits.contiguous()
            return (0..<logits.shape[0]).map { b in
                let row = UnsafeBufferPointer(start: rows.storage.pointer + b * vocabulary, count: vocabulary)
                // Candidates best first when top-k or top-p needs an order; all tokens otherwise.
                let candidates: [Int]? = topK.map { Tensor.largestIndices(row, k: Swift.min($0, vocabulary)) }
                    ?? (topP != nil ? Tensor.largestIndices(row, k: vocabulary) : nil)
                let count = candidates?.count ?? vocabulary
                func token(_ i: Int) -> Int { candidates?[i] ?? i }
                var maximum = -Float.infinity
                for i in 0..<count { maximum = Swift.max(maximum, row[token(i)]) }
                var probabilities = (0..<count).map { Float(Foundation_exp(Double((row[token($0)] - maximum) / temperature))) }
                var kept = count
                if let p = topP {
                    let total = probabilities.reduce(0, +)
                    var cumulative: Float = 0
                    kept = 0
                    for q in probabilities {
                        kept += 1
                        cumulative += q / total
                        if cumulative >= p { break }
                    }
                    probabilities.removeLast(count - kept)
                }
                let total = probabilities.reduce(0, +)
                var u = generator.nextUniform() * total
                for (i, q) in probabilities.enumerated() {
                    u -= q
                    if u < 0 { return token(i) }
                }
                return token(kept - 1)
            }
        }
    }
}

#if canImport(Glibc)
import Glibc
func Foundation_exp(_ x: Double) -> Double { Glibc.exp(x) }
#else
import Foundation
func Foundation_exp(_ x: Double) -> Double { Foundation.exp(x) }
#endif
