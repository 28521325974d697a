import Foundation
import Models
import Tensors

/// A fresh temporary folder.
func temporaryFolder(_ name: String = "models") -> String {
    let path = NSTemporaryDirectory() + "intervene-\(name)-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Writes text to a file.
func write(_ text: String, to path: String) {
    _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
}

/// A tiny random GPT-2 (width 16, 2 layers, 2 heads, vocabulary 40, 24 positions).
func tinyGPT2(seed: UInt64 = 1) -> DecoderModel {
    let model = try! GPT2Family.model(GPT2Family.config(vocabularySize: 40, positions: 24, width: 16, layers: 2, heads: 2))
    model.initializeRandomly(seed: seed, std: 0.2)
    return model
}

/// A tiny random Llama with grouped-query attention (4 heads, 2 kv heads).
func tinyLlama(seed: UInt64 = 2) throws -> DecoderModel {
    let json = """
    {"model_type": "llama", "vocab_size": 30, "max_position_embeddings": 32, "hidden_size": 16, "num_hidden_layers": 2,
     "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 24, "rms_norm_eps": 1e-5, "rope_theta": 10000,
     "tie_word_embeddings": true}
    """
    let model = try LlamaFamilies.llama.model(ModelConfig(json: try JSONValue.parse(json).objectValue!))
    model.initializeRandomly(seed: seed, std: 0.2)
    return model
}

/// A tiny random BERT encoder (width 16, 1 layer, 2 heads, intermediate 24, vocabulary 30).
func tinyBERT(seed: UInt64 = 3) throws -> BERTModel {
    let json = """
    {"model_type": "bert", "vocab_size": 30, "max_position_embeddings": 16, "hidden_size": 16, "num_hidden_layers": 1,
     "num_attention_heads": 2, "intermediate_size": 24, "hidden_act": "gelu", "layer_norm_eps": 1e-12}
    """
    let model = BERTModel(try BERTConfiguration(ModelConfig(json: try JSONValue.parse(json).objectValue!)))
    model.initializeRandomly(seed: seed, std: 0.2)
    return model
}

/// Token ids (B, S) from rows.
func ids(_ rows: [[Int]]) -> IndexTensor {
    IndexTensor(shape: [rows.count, rows[0].count], values: Array(rows.joined()))
}

/// Largest absolute difference.
func maxDifference(_ a: Tensor, _ b: Tensor) -> Float { (a - b).abs().maxValue() }
