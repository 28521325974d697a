import Foundation
import Testing
@testable import Models
import Tensors

@Suite struct CheckpointTests {
    /// Saves a model into a folder with a config.json.
    func savedGPT2(_ model: DecoderModel) throws -> String {
        let folder = temporaryFolder("gpt2")
        let c = model.config
        write("""
        {"model_type": "gpt2", "vocab_size": \(c.vocabularySize), "n_positions": \(c.contextLength), "n_embd": \(c.width),
         "n_layer": \(c.layers), "n_head": \(c.heads), "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5}
        """, to: folder + "/config.json")
        try model.save(to: folder + "/model.safetensors")
        return folder
    }

    @Test func savedModelLoadsBackIdentically() throws {
        let model = tinyGPT2()
        let folder = try savedGPT2(model)
        let loaded = try ModelLoader.load(folder: folder)
        let input = ModelInput.tokens(ids([[1, 2, 3, 4]]))
        #expect(maxDifference(try model(input).logits, try loaded(input).logits) == 0)
        #expect(loaded.parameterCount == model.parameterCount)
        // Loaded models are frozen.
        #expect(loaded.namedParameters.allSatisfy { !$0.parameter.isTrainable })
    }

    @Test func shardedCheckpointsLoad() throws {
        let model = tinyGPT2()
        let folder = try savedGPT2(model)
        try FileManager.default.removeItem(atPath: folder + "/model.safetensors")
        var shards: [[String: SafeTensorsWriter.Item]] = [[:], [:]]
        var map: [String] = []
        for (i, (key, p)) in model.namedParameters.enumerated() where key != "lm_head.weight" {
            shards[i % 2][key] = .float(p.value)
            map.append("\"\(key)\": \"part-\(i % 2).safetensors\"")
        }
        for (i, shard) in shards.enumerated() { try SafeTensorsWriter.write(shard, to: folder + "/part-\(i).safetensors") }
        write("{\"weight_map\": {\(map.joined(separator: ", "))}}", to: folder + "/model.safetensors.index.json")
        let loaded = try ModelLoader.load(folder: folder)
        let input = ModelInput.tokens(ids([[5, 6]]))
        #expect(maxDifference(try model(input).logits, try loaded(input).logits) == 0)
    }

    @Test func missingTensorIsNamed() throws {
        let model = tinyGPT2()
        let folder = try savedGPT2(model)
        var items: [String: SafeTensorsWriter.Item] = [:]
        for (key, p) in model.namedParameters where key != "transformer.h.1.ln_2.weight" && key != "lm_head.weight" { items[key] = .float(p.value) }
        try SafeTensorsWriter.write(items, to: folder + "/model.safetensors")
        do {
            _ = try ModelLoader.load(folder: folder)
            Issue.record("expected a missing-key error")
        } catch let ModelError.checkpointMismatch(report) {
            #expect(report.missing == ["transformer.h.1.ln_2.weight"])
            #expect("\(ModelError.checkpointMismatch(report))".contains("transformer.h.1.ln_2.weight"))
        }
        // Lenient loading reports and continues.
        let (_, report) = try ModelLoader.load(folder: folder, strict: false)
        #expect(report.missing == ["transformer.h.1.ln_2.weight"])
    }

    @Test func wrongShapeIsNamed() throws {
        let model = tinyGPT2()
        let folder = try savedGPT2(model)
        var items: [String: SafeTensorsWriter.Item] = [:]
        for (key, p) in model.namedParameters where key != "lm_head.weight" { items[key] = .float(p.value) }
        items["transformer.wpe.weight"] = .float(Tensor.zeros([3, 16]))
        items["extra.tensor"] = .float(Tensor.zeros([1]))
        try SafeTensorsWriter.write(items, to: folder + "/model.safetensors")
        do {
            _ = try ModelLoader.load(folder: folder)
            Issue.record("expected a shape error")
        } catch let ModelError.checkpointMismatch(report) {
            #expect(report.misshaped == [.init(key: "transformer.wpe.weight", expected: [24, 16], found: [3, 16])])
            #expect(report.unexpected == ["extra.tensor"])
        }
    }

    @Test func unknownModelTypeIsNamed() throws {
        let folder = temporaryFolder()
        write(#"{"model_type": "mamba", "hidden_size": 4}"#, to: folder + "/config.json")
        // Another test registers an architecture concurrently, so the known list is checked by content.
        do { _ = try ModelLoader.load(folder: folder); Issue.record("expected an error") } catch let ModelError.unknownModelType(name, known) {
            #expect(name == "mamba")
            #expect(Set(["gpt2", "gpt_neox", "llama", "bert", "mlp", "gru"]).isSubset(of: Set(known)))
        }
    }

    /// Config values the architectures cannot honour are named with the field and what is allowed.
    @Test func unsupportedConfigValuesAreNamed() throws {
        func llama(_ extra: String) throws -> DecoderConfig {
            try LlamaFamilies.llama.config(ModelConfig(json: try JSONValue.parse("""
            {"model_type": "llama", "vocab_size": 30, "max_position_embeddings": 32, "hidden_size": 10, "num_hidden_layers": 1,
             "intermediate_size": 8, \(extra)}
            """).objectValue!))
        }
        #expect(throws: ModelError.invalidConfig(path: "config.json", field: "num_attention_heads", value: "4", expected: "a divisor of hidden_size (10)")) {
            try llama(#""num_attention_heads": 4"#)
        }
        #expect(try llama(#""num_attention_heads": 4, "head_dim": 4"#).headDim == 4)  // explicit head width is allowed
        #expect(throws: ModelError.invalidConfig(path: "config.json", field: "head_dim", value: "3",
                                                 expected: "an even head width (rotary embeddings rotate pairs of features)")) {
            try llama(#""num_attention_heads": 4, "head_dim": 3"#)
        }
        #expect(throws: ModelError.invalidConfig(path: "config.json", field: "num_key_value_heads", value: "3", expected: "a divisor of num_attention_heads (5)")) {
            try llama(#""num_attention_heads": 5, "num_key_value_heads": 3"#)
        }
        #expect(try llama(#""num_attention_heads": 5, "rope_scaling": {"type": "linear", "factor": 2}"#).positions
                == .rotary(RotaryOptions(dimensions: 2, theta: 10000, scaling: .linear(factor: 2))))
        do { _ = try llama(#""num_attention_heads": 5, "rope_scaling": {"rope_type": "yarn", "factor": 2}"#); Issue.record("expected an error") }
        catch let ModelError.invalidConfig(path, field, value, expected) {
            #expect(path == "config.json rope_scaling" && field == "rope_type" && value == "\"yarn\"" && expected == "one of default, linear, dynamic, llama3")
        }
    }

    /// GPT-NeoX's rotary fraction must be in (0, 1] and rotate an even number of features.
    @Test func rotaryFractionOutOfRangeOrOddIsNamed() throws {
        func neox(_ pct: String) throws -> DecoderConfig {
            try GPTNeoXFamily.config(ModelConfig(json: try JSONValue.parse("""
            {"model_type": "gpt_neox", "vocab_size": 30, "max_position_embeddings": 32, "hidden_size": 16, "num_hidden_layers": 1,
             "num_attention_heads": 2, "intermediate_size": 24, "rotary_pct": \(pct)}
            """).objectValue!))
        }
        #expect(throws: ModelError.invalidConfig(path: "config.json", field: "rotary_pct", value: "1.5", expected: "a number in (0, 1]")) {
            try neox("1.5")
        }
        #expect(throws: ModelError.invalidConfig(path: "config.json", field: "rotary_pct", value: "0.375",
                                                 expected: "a fraction of head_dim 8 that rotates an even number of features (got 3)")) {
            try neox("0.375")
        }
        #expect(try neox("0.25").positions == .rotary(RotaryOptions(dimensions: 2, theta: 10000)))
        // A DecoderConfig built in Swift is checked too.
        var config = try neox("0.25")
        config.positions = .rotary(RotaryOptions(dimensions: 3, theta: 10000))
        #expect(throws: ModelError.invalidConfig(path: "DecoderConfig(gpt_neox)", field: "positions.rotary.dimensions", value: "3",
                                                 expected: "an even number in 0...8 (headDim)")) {
            try DecoderModel(config, keyMap: GPTNeoXFamily.keyMap)
        }
    }

    @Test func malformedConfigNamesTheField() throws {
        let folder = temporaryFolder()
        write("{not json", to: folder + "/config.json")
        do { _ = try ModelLoader.load(folder: folder); Issue.record("expected an error") } catch let ModelError.invalidConfig(_, field, _, _) {
            #expect(field == "(file)")
        }
        write(#"{"model_type": "gpt2", "vocab_size": 10, "n_positions": 8, "n_embd": 6, "n_layer": "two", "n_head": 2}"#, to: folder + "/config.json")
        do { _ = try ModelLoader.load(folder: folder); Issue.record("expected an error") } catch let ModelError.invalidConfig(_, field, value, _) {
            #expect(field == "n_layer")
            #expect(value == "\"two\"")
        }
        write(#"{"model_type": "gpt2", "vocab_size": 10, "n_positions": 8, "n_embd": 6, "n_layer": 1, "n_head": 4}"#, to: folder + "/config.json")
        do { _ = try ModelLoader.load(folder: folder); Issue.record("expected an error") } catch let ModelError.invalidConfig(_, field, _, _) {
            #expect(field == "n_head")
        }
        #expect(throws: ModelError.self) { try ModelLoader.load(folder: folder + "/nowhere") }
    }

    @Test func missingWeightsFolderIsReported() throws {
        let folder = temporaryFolder()
        write(#"{"model_type": "gpt2", "vocab_size": 10, "n_positions": 8, "n_embd": 4, "n_layer": 1, "n_head": 2}"#, to: folder + "/config.json")
        do { _ = try ModelLoader.load(folder: folder); Issue.record("expected an error") } catch let ModelError.missingWeights(_, reason) {
            #expect(reason.contains("model.safetensors"))
        }
    }
}

@Suite struct TiedWeightTests {
    @Test func tiedLlamaCheckpointsLoadWithoutTheirHead() throws {
        let model = try tinyLlama()
        let folder = temporaryFolder("llama")
        let c = model.config
        write("""
        {"model_type": "llama", "vocab_size": \(c.vocabularySize), "max_position_embeddings": \(c.contextLength), "hidden_size": \(c.width),
         "num_hidden_layers": \(c.layers), "num_attention_heads": \(c.heads), "num_key_value_heads": \(c.kvHeads),
         "intermediate_size": \(c.intermediate), "rms_norm_eps": 1e-5, "tie_word_embeddings": true}
        """, to: folder + "/config.json")
        try model.save(to: folder + "/model.safetensors")
        #expect(try !SafeTensorsFile(path: folder + "/model.safetensors").contains("lm_head.weight"))
        let loaded = try ModelLoader.load(folder: folder)
        let input = ModelInput.tokens(ids([[1, 2, 3]]))
        #expect(maxDifference(try loaded(input).logits, try model(input).logits) == 0)
    }

    /// A tied head is the embedding matrix: logits = lastHidden · Eᵀ (GPT-NeoX with a sequential
    /// residual, and Llama), and asking for the last position only gives that row.
    @Test func tiedHeadsProjectWithTheEmbedding() throws {
        let neoxJSON = """
        {"model_type": "gpt_neox", "vocab_size": 30, "max_position_embeddings": 32, "hidden_size": 16, "num_hidden_layers": 2,
         "num_attention_heads": 4, "intermediate_size": 24, "rotary_pct": 0.5, "use_parallel_residual": false,
         "tie_word_embeddings": true}
        """
        let neox = try GPTNeoXFamily.family.model(ModelConfig(json: try JSONValue.parse(neoxJSON).objectValue!))
        neox.initializeRandomly(seed: 4, std: 0.2)
        let llama = try tinyLlama()
        let input = ModelInput.tokens(ids([[1, 2, 3, 4], [5, 6, 7, 8]]))
        for model in [neox, llama] as [any HookableModel] {
            let embedding = model.namedParameters.first { $0.key.hasSuffix("embed_in.weight") || $0.key.hasSuffix("embed_tokens.weight") }!.parameter
            let out = try model.forward(input, options: ForwardOptions(outputHiddenStates: true))
            let expected = out.hiddenStates.last!.matmul(embedding.value.transposed())
            #expect(out.output.abs().maxValue() > 0.1)
            #expect(maxDifference(out.output, expected) < 1e-5)
            var options = ForwardOptions()
            options.logitsForLastPositionOnly = true
            let last = try model.forward(input, options: options).output
            #expect(last.shape == [2, 1, 30])
            #expect(maxDifference(last, out.output.narrowed(1, start: 3, length: 1)) < 1e-6)
        }
    }
}
