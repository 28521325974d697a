import Tensors

/// Seed GGUF files written with `GGUFWriter`: typed metadata and quantized tensors, a tiny llama
/// model with a SentencePiece vocabulary, and a tiny gpt2 model with a byte-level BPE vocabulary.
enum GGUFSeeds {
    static func all() throws -> [String: [UInt8]] {
        ["tensors.gguf": try tensors(), "llama-tiny.gguf": try llama(), "gpt2-tokenizer.gguf": try gpt2Tokenizer()]
    }

    static func block(_ type: GGMLType, blocks: Int) -> [UInt8] {
        (0..<(type.byteCount(elements: type.blockElements * blocks) ?? 0)).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) & 0x3b }
    }

    static func tensors() throws -> [UInt8] {
        var w = try GGUFWriter(alignment: 32)
        w.set("general.architecture", .string("none"))
        w.set("general.name", .string("seed"))
        w.set("u8", .uint8(7)); w.set("i16", .int16(-3)); w.set("f64", .float64(0.5)); w.set("flag", .bool(true))
        w.set("list", .array(.int32, [.int32(1), .int32(2)]))
        w.set("nested", .array(.array, [.array(.string, [.string("a")])]))
        try w.add("f32", Tensor(shape: [2, 4], values: [1, 2, 3, 4, 5, 6, 7, 8]))
        try w.add("f16", type: .f16, ne: [4], data: [0, 60, 0, 64, 0, 188, 0, 0])
        for type in [GGMLType.q4_0, .q4_1, .q5_0, .q8_0, .q4_K, .q6_K] {
            try w.add("t.\(type.name)", type: type, ne: [type.blockElements], data: block(type, blocks: 1))
        }
        return w.encode()
    }

    static func tokens(_ list: [String]) -> GGUFValue { .array(.string, list.map { .string($0) }) }

    static func llama() throws -> [UInt8] {
        var w = try GGUFWriter()
        w.set("general.architecture", .string("llama"))
        for (k, v) in [("block_count", 1), ("embedding_length", 4), ("feed_forward_length", 8), ("attention.head_count", 2),
                       ("context_length", 16)] {
            w.set("llama.\(k)", .uint32(UInt32(v)))
        }
        w.set("llama.attention.layer_norm_rms_epsilon", .float32(1e-5))
        let vocabulary = ["<unk>", "<s>", "</s>", "▁", "a", "b", "▁a", "ab", "<0x0A>", "<0x41>"]
        w.set("tokenizer.ggml.model", .string("llama"))
        w.set("tokenizer.ggml.tokens", tokens(vocabulary))
        w.set("tokenizer.ggml.scores", .array(.float32, vocabulary.indices.map { .float32(-Float($0)) }))
        w.set("tokenizer.ggml.token_type", .array(.int32, [2, 3, 3, 1, 1, 1, 1, 1, 6, 6].map { .int32($0) }))
        w.set("tokenizer.ggml.bos_token_id", .uint32(1)); w.set("tokenizer.ggml.eos_token_id", .uint32(2))
        let n = vocabulary.count
        func t(_ shape: [Int]) -> Tensor { Tensor(shape: shape, values: (0..<shape.reduce(1, *)).map { Float($0 % 7) * 0.1 - 0.3 }) }
        try w.add("token_embd.weight", t([n, 4]))
        try w.add("output_norm.weight", t([4]))
        for (name, shape) in [("attn_norm", [4]), ("attn_q", [4, 4]), ("attn_k", [4, 4]), ("attn_v", [4, 4]), ("attn_output", [4, 4]),
                              ("ffn_norm", [4]), ("ffn_gate", [8, 4]), ("ffn_up", [8, 4]), ("ffn_down", [4, 8])] {
            try w.add("blk.0.\(name).weight", t(shape))
        }
        return w.encode()
    }

    static func gpt2Tokenizer() throws -> [UInt8] {
        var w = try GGUFWriter()
        w.set("general.architecture", .string("gpt2"))
        w.set("tokenizer.ggml.model", .string("gpt2"))
        w.set("tokenizer.ggml.pre", .string("default"))
        w.set("tokenizer.ggml.tokens", tokens(["H", "e", "l", "o", "Ġ", "w", "r", "d", "He", "ll", "Ġw", "<|endoftext|>"]))
        w.set("tokenizer.ggml.merges", tokens(["H e", "l l", "Ġ w"]))
        w.set("tokenizer.ggml.token_type", .array(.int32, (0..<12).map { .int32($0 == 11 ? 3 : 1) }))
        w.set("tokenizer.ggml.eos_token_id", .uint32(11))
        return w.encode()
    }
}
