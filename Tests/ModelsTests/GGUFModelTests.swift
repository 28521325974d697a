import Foundation
import Testing
import Models
import Tensors

/// GGUF files of a tiny Llama written in the test: metadata → config, llama.cpp names → keys,
/// q/k rows permuted as llama.cpp's converter permutes them, loading through a folder and the
/// Hugging Face cache, and typed errors for what cannot load.
@Suite struct GGUFModelTests {
    /// A tiny random Llama (width 8, 2 heads of 4, 1 kv head) and its GGUF encoding.
    func tinyLlamaGGUF(architecture: String = "llama", dropTensor: String? = nil) throws -> (model: DecoderModel, path: String) {
        let json = """
        {"model_type": "llama", "vocab_size": 12, "max_position_embeddings": 16, "hidden_size": 8, "num_hidden_layers": 1,
         "num_attention_heads": 2, "num_key_value_heads": 1, "intermediate_size": 16, "rms_norm_eps": 1e-5, "rope_theta": 10000,
         "tie_word_embeddings": true}
        """
        let model = try LlamaFamilies.llama.model(ModelConfig(json: try JSONValue.parse(json).objectValue!))
        model.initializeRandomly(seed: 7, std: 0.4)
        var w = try GGUFWriter()
        w.set("general.architecture", .string(architecture))
        for (key, value) in [("block_count", 1), ("embedding_length", 8), ("feed_forward_length", 16), ("attention.head_count", 2),
                             ("attention.head_count_kv", 1), ("context_length", 16), ("rope.dimension_count", 4)] {
            w.set("\(architecture).\(key)", .uint32(UInt32(value)))
        }
        w.set("\(architecture).attention.layer_norm_rms_epsilon", .float32(1e-5))
        w.set("\(architecture).rope.freq_base", .float32(10000))
        let names: [String: String] = ["model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
            "model.layers.0.input_layernorm.weight": "blk.0.attn_norm.weight", "model.layers.0.post_attention_layernorm.weight": "blk.0.ffn_norm.weight",
            "model.layers.0.self_attn.q_proj.weight": "blk.0.attn_q.weight", "model.layers.0.self_attn.k_proj.weight": "blk.0.attn_k.weight",
            "model.layers.0.self_attn.v_proj.weight": "blk.0.attn_v.weight", "model.layers.0.self_attn.o_proj.weight": "blk.0.attn_output.weight",
            "model.layers.0.mlp.gate_proj.weight": "blk.0.ffn_gate.weight", "model.layers.0.mlp.up_proj.weight": "blk.0.ffn_up.weight",
            "model.layers.0.mlp.down_proj.weight": "blk.0.ffn_down.weight"]
        for (key, parameter) in model.namedParameters {
            guard let name = names[key], name != dropTensor else { continue }
            var t = parameter.value
            if key.hasSuffix("q_proj.weight") || key.hasSuffix("k_proj.weight") {
                // llama.cpp's permutation: GGUF row h·hd + 2i + c holds HF row h·hd + c·hd/2 + i.
                let heads = t.shape[0] / 4
                t = t.reshaped([heads, 2, 2, 8]).permuted([0, 2, 1, 3]).contiguous().reshaped([heads * 4, 8])
            }
            try w.add(name, t)
        }
        let folder = temporaryFolder("gguf")
        try w.write(to: folder + "/tiny.gguf")
        return (model, folder + "/tiny.gguf")
    }

    @Test func aLlamaGGUFLoadsWithItsRowsUnpermuted() throws {
        let (original, path) = try tinyLlamaGGUF()
        let loaded = try ModelLoader.load(.gguf(path))
        #expect(loaded.model.modelType == "llama" && loaded.tokenizer == nil && loaded.report.isClean)
        let input = ModelInput.tokens(ids([[1, 2, 3, 4, 5]]))
        #expect(maxDifference(try loaded.model(input).logits, try original(input).logits) < 1e-5)
        // A snapshot folder holding only a GGUF file loads it (Hugging Face GGUF repos).
        let folder = (path as NSString).deletingLastPathComponent
        #expect(maxDifference(try ModelLoader.load(.folder(folder)).model(input).logits, try original(input).logits) < 1e-5)
    }

    @Test func whatCannotLoadIsNamed() throws {
        let (_, unknown) = try tinyLlamaGGUF(architecture: "mamba")
        #expect(throws: ModelError.invalidConfig(path: unknown, field: "general.architecture", value: "\"mamba\"",
                                                 expected: "one of \(GGUFModelLoader.architectures.joined(separator: ", "))")) {
            try ModelLoader.load(.gguf(unknown))
        }
        let (_, missing) = try tinyLlamaGGUF(dropTensor: "blk.0.ffn_up.weight")
        let error = try #require(throws: ModelError.self) { try ModelLoader.load(.gguf(missing)) }
        guard case .checkpointMismatch(let report) = error else { Issue.record("expected a checkpoint mismatch, got \(error)"); return }
        #expect(report.missing == ["model.layers.0.mlp.up_proj.weight"])
        // A file that is not GGUF at all.
        let bogus = temporaryFolder("gguf-bad") + "/bad.gguf"
        write("not a gguf file at all", to: bogus)
        #expect(throws: GGUFError.self) { try ModelLoader.load(.gguf(bogus)) }
    }

    /// Random corruptions of a valid model file load or throw a typed error; none crashes.
    @Test func corruptedModelFilesNeverCrashTheLoader() throws {
        let (_, path) = try tinyLlamaGGUF()
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var g = RandomGenerator(seed: 11)
        let target = temporaryFolder("gguf-fuzz") + "/corrupt.gguf"
        var refused = 0
        for round in 0..<150 {
            var corrupt = bytes
            for _ in 0..<(1 + g.nextInt(below: 4)) {
                let i = g.nextInt(below: round % 2 == 0 ? min(600, corrupt.count) : corrupt.count)
                corrupt[i] = UInt8(g.nextInt(below: 256))
            }
            if round % 10 == 0 { corrupt = Array(corrupt.prefix(g.nextInt(below: corrupt.count))) }
            try Data(corrupt).write(to: URL(fileURLWithPath: target))
            do { _ = try ModelLoader.load(.gguf(target)) } catch is GGUFError { refused += 1 } catch is ModelError { refused += 1 } catch is TokenizerError { refused += 1 }
        }
        #expect(refused >= 10, "most of the 15 truncated files at least must be refused")
    }
}
