import Foundation
import Intervene
import Models
import Tensors

/// A tiny random GPT-2 (width 16, 2 layers, 2 heads, vocabulary 40, 24 positions).
func tinyGPT2(seed: UInt64 = 1) -> DecoderModel {
    let model = try! GPT2Family.model(GPT2Family.config(vocabularySize: 40, positions: 24, width: 16, layers: 2, heads: 2))
    model.initializeRandomly(seed: seed, std: 0.3)
    return model
}

/// Token ids (B, S).
func ids(_ rows: [[Int]]) -> IndexTensor {
    IndexTensor(shape: [rows.count, rows[0].count], values: Array(rows.joined()))
}

func maxDifference(_ a: Tensor, _ b: Tensor) -> Float { (a - b).abs().maxValue() }

/// A model wrapper that counts forward passes.
final class CountingModel: HookableModel {
    let inner: any HookableModel
    var calls = 0
    init(_ inner: any HookableModel) { self.inner = inner }
    var modelType: String { inner.modelType }
    var siteTable: SiteTable { inner.siteTable }
    func visitParameters(_ visit: (String, Parameter) -> Void) { inner.visitParameters(visit) }
    func forward(_ input: ModelInput, options: ForwardOptions) throws -> ModelOutput {
        calls += 1
        return try inner.forward(input, options: options)
    }
}

let baseTokens = ids([[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12]])
let sourceTokens = ids([[13, 14, 15, 16, 17, 18], [19, 20, 21, 22, 23, 24]])
