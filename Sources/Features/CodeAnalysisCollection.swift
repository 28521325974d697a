import Foundation
import Models
import Tensors

/// What `CollectedCodes.collect` measured besides the codes.
public struct CollectionMetrics: Equatable, Sendable {
    /// Mean next-token cross-entropy (nats) over every predicted position, with the codebooks on.
    public var loss: Double
    /// Per codebook, how many of its codes fired at least once.
    public var usedCodes: [String: Int]

    /// As flat cache metrics: "loss", "<codebook>.used_codes".
    public var flattened: [String: Double] {
        var m = ["loss": loss]
        for (name, n) in usedCodes { m["\(name).used_codes"] = Double(n) }
        return m
    }
}

extension CollectedCodes {
    /// Runs `model` over each prompt (one pass per prompt, batch 1, with the tokenizer's special
    /// tokens) and gathers every single codebook's ids (group codebooks as one codebook per
    /// group, "L0.attn_preproj.g2"; the reference's qkv aliases left out), the code vectors,
    /// and, when `neurons` is true, each inserted layer's LayerNorm'd input (T, width) for the
    /// neuron baseline. Prompts longer than the model's context are cut to it. Throws
    /// `invalidOption` for an empty prompt list or a prompt with no tokens; `progress` is called
    /// with (prompts done, total).
    public static func collect(_ model: CodebookModel, tokenizer: any Tokenizer, prompts: [String], neurons: Bool = false,
                               progress: ((Int, Int) -> Void)? = nil) throws -> (codes: CollectedCodes, metrics: CollectionMetrics) {
        guard !prompts.isEmpty else { throw CodeAnalysisError.invalidOption(field: "prompts", value: "an empty list", allowed: "at least one prompt") }
        var seen = Set<ObjectIdentifier>()
        let singles = model.codebooks.filter { seen.insert(ObjectIdentifier($0.layer)).inserted }
        var documents: [TokenDocument] = []
        var ids = [[[Int]]](repeating: [], count: singles.count)
        var tables = [String: [Float]]()
        var lossSum = 0.0, predicted = 0
        for (p, prompt) in prompts.enumerated() {
            var tokens = tokenizer.encode(prompt, addSpecialTokens: true).ids
            if let limit = model.model.contextLength { tokens = Array(tokens.prefix(limit)) }
            guard !tokens.isEmpty else {
                throw CodeAnalysisError.invalidOption(field: "prompts[\(p)]", value: "'\(prompt)' (no tokens)", allowed: "a prompt with at least one token")
            }
            let output = try Tensor.withoutGradients { try model.forward(IndexTensor(shape: [1, tokens.count], values: tokens)) }
            documents.append(TokenDocument(ids: tokens, pieces: tokens.map { tokenizer.decode([$0], skipSpecialTokens: false) }))
            for (i, single) in singles.enumerated() {
                guard let codes = output.codes[single.name] else {
                    throw CodeAnalysisError.inconsistentData(field: "codebook '\(single.name)'", reason: "produced no codes (is it disabled?)")
                }
                ids[i].append(codes.values)
            }
            if neurons {
                for entry in model.entries {
                    guard let normalized = entry.layer.lastSnap?.normalized else { continue }
                    tables[entry.name, default: []] += normalized.scalars
                }
            }
            (lossSum, predicted) = (lossSum + nextTokenLossSum(output.logits, tokens: tokens), predicted + tokens.count - 1)
            progress?(p + 1, prompts.count)
        }
        let n = documents.reduce(0) { $0 + $1.ids.count }
        let codebooks = singles.enumerated().map { i, single in
            CollectedCodebook(name: single.name, codeCount: single.layer.codeCount, k: single.layer.k, ids: ids[i],
                              vectors: single.layer.codes.value.detached())
        }
        let neuronTables = tables.mapValues { Tensor(shape: [n, $0.count / n], values: $0) }
        let data = try CollectedCodes(documents: documents, codebooks: codebooks, neurons: neuronTables)
        var used: [String: Int] = [:]
        for cb in codebooks { used[cb.name] = try data.activationCounts(codebook: cb.name).filter { $0 > 0 }.count }
        return (data, CollectionMetrics(loss: predicted > 0 ? lossSum / Double(predicted) : 0, usedCodes: used))
    }

    /// Σ_t −log softmax(logits[t])[tokens[t+1]] over t < T − 1, for logits (1, T, V).
    static func nextTokenLossSum(_ logits: Tensor, tokens: [Int]) -> Double {
        let v = logits.shape[logits.rank - 1], values = logits.scalars
        var sum = 0.0
        for t in 0..<Swift.max(tokens.count - 1, 0) {
            let row = values[(t * v) ..< ((t + 1) * v)]
            let top = Double(row.max() ?? 0)
            let logSumExp = top + log(row.reduce(0.0) { $0 + exp(Double($1) - top) })
            sum += logSumExp - Double(values[t * v + tokens[t + 1]])
        }
        return sum
    }
}
