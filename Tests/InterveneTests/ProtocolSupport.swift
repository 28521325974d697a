import Foundation
@testable import Intervene
import Models
import Tensors

/// Leaves its block alone and reports the auxiliary loss "penalty" = p² of its one parameter p
/// (initially 0.5) and the side output "p".
final class PenaltyIntervention: Intervention {
    let typeName = "PenaltyIntervention"
    let p = Parameter(Tensor([0.5]))
    var embedDimension: Int? { nil }
    var form: BlockForm { .units }
    var sourceRequirement: SourceRequirement { .none }
    var namedParameters: [(name: String, parameter: Parameter)] { [("p", p)] }

    func apply(base: Tensor, source: Tensor?, subspaces: [[Int]]?) throws -> InterventionResult {
        InterventionResult(base, auxiliaryLosses: ["penalty": (p.value * p.value).sum()], sideOutputs: ["p": p.value.detached()])
    }
}

/// A model whose hooks never see sites above `maxLayer`, like a forward that ends early.
final class TruncatedHooksModel: HookableModel {
    let inner: any HookableModel
    let maxLayer: Int
    init(_ inner: any HookableModel, maxLayer: Int) {
        self.inner = inner
        self.maxLayer = maxLayer
    }
    var modelType: String { inner.modelType }
    var siteTable: SiteTable { inner.siteTable }
    func visitParameters(_ visit: (String, Parameter) -> Void) { inner.visitParameters(visit) }
    func forward(_ input: ModelInput, options: ForwardOptions) throws -> ModelOutput {
        var filtered = options
        if let hooks = options.hooks { filtered.hooks = LayerFilter(inner: hooks, maxLayer: maxLayer) }
        return try inner.forward(input, options: filtered)
    }

    final class LayerFilter: ActivationHooks {
        let inner: any ActivationHooks
        let maxLayer: Int
        init(inner: any ActivationHooks, maxLayer: Int) {
            self.inner = inner
            self.maxLayer = maxLayer
        }
        func isActive(_ point: TapPoint) -> Bool { point.layer <= maxLayer && inner.isActive(point) }
        func visit(_ point: TapPoint, step: Int?, _ activation: inout Tensor) throws { try inner.visit(point, step: step, &activation) }
        func canStop(afterLayer layer: Int) -> Bool { inner.canStop(afterLayer: layer) }
    }
}

/// A small random GRU classifier (width 4, `layers` layers, 2 labels) and embeddings (B, S, 4).
func tinyGRU(layers: Int = 1) -> GRUClassifier {
    let model = GRUClassifier(GRUClassifierConfiguration(width: 4, layers: layers, labels: 2))
    model.initializeRandomly(seed: 3, std: 0.5)
    return model
}

func gruInput(batch: Int = 2, steps: Int = 3, seed: UInt64 = 1) -> ModelInput {
    .embeddings(Tensor.randomNormal([batch, steps, 4], seed: seed))
}
