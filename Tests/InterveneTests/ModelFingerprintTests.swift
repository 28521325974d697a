import InterveneTestSupport
import Testing
import Intervene
import Models
import Tensors

/// `ModelFingerprint` of a model holding a quantized matrix: equal to that of the same model
/// with the matrix dequantized (bundles carry over between the two loads), different when a
/// single quantized byte changes.
@Suite struct ModelFingerprintTests {
    /// A GPT-2 whose token embedding (4099 × 32: three tiles of rows, the last of 3) is a Q8_0
    /// matrix of random blocks (scale 0.01), `flip` XORed into the first quant of the last row.
    static func model(flip: UInt8 = 0) throws -> (model: DecoderModel, embedding: Parameter) {
        let rows = 4099, columns = 32
        let model = try GPT2Family.model(GPT2Family.config(vocabularySize: rows, positions: 8, width: columns, layers: 1, heads: 2))
        model.initializeRandomly(seed: 3, std: 0.3)
        let matrix = try randomQ8_0Matrix(rows: rows, columns: columns, seed: 7) { bytes in
            bytes[(rows - 1) * GGMLType.q8_0.blockBytes + 2] ^= flip
        }
        let embedding = try #require(model.parameterDictionary["transformer.wte.weight"])
        embedding.assign(quantized: matrix)
        return (model, embedding)
    }

    @Test func quantizedAndDequantizedWeightsShareTheFingerprint() throws {
        let (model, embedding) = try Self.model()
        let quantized = ModelFingerprint.of(model)
        #expect(quantized.hasPrefix("intervene-fp1:") && quantized.count == 14 + 16)
        #expect(ModelFingerprint.of(model) == quantized)
        embedding.assign(try #require(embedding.quantized).dequantized())
        #expect(embedding.quantized == nil)
        #expect(ModelFingerprint.of(model) == quantized)
    }

    @Test func oneQuantizedByteChangesTheFingerprint() throws {
        let a = ModelFingerprint.of(try Self.model().model), b = ModelFingerprint.of(try Self.model(flip: 1).model)
        #expect(a != b)
    }
}
