import Foundation
import InterveneTestSupport
import Testing
@testable import Features
import Intervene
import Models
import Tensors

/// The logit lens against a by-hand product, and the cache folder round trip and its refusals.
@Suite struct LatentLogitLensTests {
    /// Ranks of u_i · W_U rows computed element by element, with u_i as the doc comment says.
    func expectMatchesHand(_ model: DecoderModel, center: Bool, scale: (Float) -> Float, n: Int) throws {
        let d = model.config.width, v = model.config.vocabularySize
        let decoder = Tensor.randomNormal([5, d], seed: 21)
        let lens = try LatentLogitLens.compute(decoder: decoder, model: model, count: n, chunk: 2)
        let parameters = model.parameterDictionary
        let head = try #require(parameters[model.keyMap.outputHead + ".weight"]).value.scalars
        let gamma = try #require(parameters[model.keyMap.finalNorm + ".weight"]).value.scalars
        for i in 0..<5 {
            var u = Array(decoder.scalars[(i * d)..<((i + 1) * d)])
            if center { let mean = u.reduce(0, +) / Float(d); u = u.map { $0 - mean } }
            u = zip(u, gamma).map { $0 * scale($1) }
            let logits = (0..<v).map { t in (0..<d).reduce(Float(0)) { $0 + u[$1] * head[t * d + $1] } }
            let order = (0..<v).sorted { logits[$0] > logits[$1] }
            #expect(lens.promoted(i).map(\.id) == Array(order.prefix(n)), "latent \(i)")
            #expect(lens.suppressed(i).map(\.id) == Array(order.reversed().prefix(n)), "latent \(i)")
            #expect(zip(lens.promoted(i).map(\.logit), order.prefix(n).map { logits[$0] }).allSatisfy { abs($0 - $1) < 1e-4 })
        }
    }

    @Test func layerNormModelsCentreAndScale() throws {
        let model = tinyGPT2()
        model.parameterDictionary["transformer.ln_f.weight"]!.assign(Tensor.randomNormal([16], seed: 3))
        try expectMatchesHand(model, center: true, scale: { $0 }, n: 4)
    }

    @Test func rmsNormModelsScaleOnly() throws {
        let config = ModelConfig(json: JSONObject([
            ("model_type", .string("llama")), ("vocab_size", .int(30)), ("hidden_size", .int(8)), ("intermediate_size", .int(16)),
            ("num_hidden_layers", .int(1)), ("num_attention_heads", .int(2)), ("max_position_embeddings", .int(16)),
        ]))
        let model = try LlamaFamilies.llama.model(config)
        model.initializeRandomly(seed: 4, std: 0.3)
        model.parameterDictionary["model.norm.weight"]!.assign(Tensor.randomNormal([8], seed: 5))
        try expectMatchesHand(model, center: false, scale: { $0 }, n: 3)
        let lens = try LatentLogitLens.compute(decoder: Tensor.ones([1, 8]), model: model, count: 2)
        #expect(lens.normalization == "rms_norm weight")
    }

    /// A head kept in Q8_0 blocks is multiplied block by block: the same tokens as its dequantized
    /// weights, logits equal to float32 rounding.
    @Test func aQuantizedHeadGivesTheLensOfItsDequantizedWeights() throws {
        let vocabulary = 64, width = 32
        let model = try GPT2Family.model(GPT2Family.config(vocabularySize: vocabulary, positions: 8, width: width, layers: 1, heads: 2))
        model.initializeRandomly(seed: 3, std: 0.3)
        let matrix = try randomQ8_0Matrix(rows: vocabulary, columns: width, seed: 7)
        let head = try #require(model.parameterDictionary[model.keyMap.outputHead + ".weight"])
        head.assign(quantized: matrix)
        let decoder = Tensor.randomNormal([5, width], seed: 21)
        let quantized = try LatentLogitLens.compute(decoder: decoder, model: model, count: 6, chunk: 2)
        head.assign(matrix.dequantized())
        let dequantized = try LatentLogitLens.compute(decoder: decoder, model: model, count: 6, chunk: 2)
        #expect(quantized.promotedIds == dequantized.promotedIds && quantized.suppressedIds == dequantized.suppressedIds)
        let logits = zip(quantized.promotedLogits + quantized.suppressedLogits, dequantized.promotedLogits + dequantized.suppressedLogits)
        #expect(logits.allSatisfy { abs($0 - $1) <= 1e-5 * Swift.max(1, abs($1)) })
    }

    @Test func aDecoderOfAnotherWidthIsRefused() throws {
        #expect(throws: SAEError.self) { try LatentLogitLens.compute(decoder: Tensor.ones([3, 64]), model: tinyGPT2(), count: 2) }
        #expect(throws: SAEError.invalid(field: "tokens", value: "41", allowed: "1...40 (the vocabulary)")) {
            try LatentLogitLens.compute(decoder: Tensor.ones([3, 16]), model: tinyGPT2(), count: 41)
        }
    }
}

@Suite struct LatentCacheTests {
    /// A small analysed cache in a fresh folder.
    func writeCache() throws -> (path: String, statistics: LatentStatistics, lens: LatentLogitLens) {
        let model = tinyGPT2()
        let sae = try SparseAutoencoder(width: 16, latents: 6, activation: .topK(2), seed: 8)
        var g = RandomGenerator(seed: 3)
        var windows = (0..<4).map { _ in (0..<6).map { _ in g.nextInt(below: 40) } }.makeIterator()
        let statistics = try LatentAnalysis.statistics(of: sae, model: model, site: Site(layer: 0, component: .blockOutput),
                                                       options: .init(top: 2, contextRadius: 1, bins: 4), nextWindow: { windows.next() })
        let lens = try LatentLogitLens.compute(decoder: sae.decoderWeight.value, model: model, count: 3)
        let path = NSTemporaryDirectory() + "intervene-latents-\(UUID().uuidString)"
        try LatentCache.write(to: path, statistics: statistics, logitLens: lens, pieces: (0..<40).map { "t\($0)" },
                              model: .init(type: "gpt2", fingerprint: ModelFingerprint.of(model), source: "tiny"), site: "L0.block_output",
                              sae: .init(source: "random", dIn: 16, dSae: 6, architecture: "topk", k: 2),
                              corpus: .init(source: "ids", windows: 4, windowTokens: 6, tokens: statistics.tokens, skipPositions: 1))
        return (path, statistics, lens)
    }

    @Test func writtenCachesReadBackWhole() throws {
        let (path, statistics, lens) = try writeCache()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let contents = try LatentCache.read(from: path)
        #expect(contents.statistics == statistics && contents.logitLens == lens && contents.pieces.count == 40)
        #expect(contents.manifest.kind == "sae-latents" && contents.manifest.top == 2 && contents.manifest.sae.dSae == 6)
        let l0 = try #require(contents.manifest.metrics["mean_l0"])
        #expect(l0 > 0 && l0 <= 2)  // TopK(2): at most two latents per token
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path + "/manifest.json"))) as? [String: Any])
        #expect(json["logit_tokens"] as? Int == 3 && (json["sae"] as? [String: Any])?["d_sae"] as? Int == 6)
    }

    /// Rewrites latents.safetensors with `edit` applied to its tensors.
    func damage(_ path: String, _ edit: (inout [String: SafeTensorsWriter.Item]) -> Void) throws {
        let file = path + "/latents.safetensors", reader = try SafeTensorsFile(path: file)
        var items: [String: SafeTensorsWriter.Item] = [:]
        for name in reader.names {
            if let ints = try? reader.integers(name) { items[name] = .int64(ints) } else { items[name] = .float(try reader.tensor(name)) }
        }
        edit(&items)
        try SafeTensorsWriter.write(items, to: file)
    }

    @Test func malformedCachesAreTypedErrorsNamingTheField() throws {
        #expect(throws: LatentCacheError.invalid(path: "/no/such/cache", field: "manifest.json", found: "no such file", expected: "a latent cache folder")) {
            try LatentCache.read(from: "/no/such/cache")
        }
        let manifestCases: [(String, String, String)] = [
            ("\"kind\" : \"sae-latents\"", "\"kind\" : \"codebook-cache\"", "'kind'"),
            ("\"version\" : 1", "\"version\" : 2", "'version'"),
            ("\"bins\" : 4", "\"bins\" : 5", "'bins' is 5"),
            ("\"top\" : 2", "\"top\" : \"two\"", "'manifest'"),
        ]
        for (old, new, message) in manifestCases {
            let (path, _, _) = try writeCache()
            defer { try? FileManager.default.removeItem(atPath: path) }
            let text = try String(contentsOfFile: path + "/manifest.json", encoding: .utf8)
            #expect(text.contains(old), "\(old)")
            try text.replacingOccurrences(of: old, with: new).write(toFile: path + "/manifest.json", atomically: true, encoding: .utf8)
            #expect(throws: LatentCacheError.self) { try LatentCache.read(from: path) }
            do { _ = try LatentCache.read(from: path) } catch { #expect("\(error)".contains(message), "\(error)") }
        }
        let tensorCases: [(String, (inout [String: SafeTensorsWriter.Item]) -> Void)] = [
            ("'firing'", { $0["firing"] = nil }),
            ("'top.tokens' is shape [6, 2, 2]", { $0["top.tokens"] = .int64(IndexTensor(shape: [6, 2, 2], values: Array(repeating: 0, count: 24))) }),
            ("'histogram.counts' is a total of", { $0["histogram.counts"] = .int64(IndexTensor(shape: [6, 4], values: Array(repeating: 0, count: 24))) }),
            ("'logit_lens.promoted_ids' is value 40", { $0["logit_lens.promoted_ids"] = .int64(IndexTensor(shape: [6, 3], values: Array(repeating: 40, count: 18))) }),
            ("'maximum' is value nan", { $0["maximum"] = .float(Tensor.full([6], .nan)) }),
        ]
        for (message, edit) in tensorCases {
            let (path, _, _) = try writeCache()
            defer { try? FileManager.default.removeItem(atPath: path) }
            try damage(path, edit)
            do {
                _ = try LatentCache.read(from: path)
                Issue.record("accepted: \(message)")
            } catch let e as LatentCacheError {
                #expect("\(e)".contains(message), "\(e)")
            }
        }
    }
}
