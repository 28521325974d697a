import Intervene
import Models
import Tensors

/// A codebook (or group codebook) used through the Intervention protocol, at any location an
/// IntervenableModel gathers: the block (B, n, D) is snapped as in `CodebookLayer` —
/// out = (1/k) Σ_j C[topk(s(LayerNorm(x)))_j], in LayerNorm space — with the layer's own
/// `callOptions` and `patches`. No source is used. Side output "codes": the ids as Float32,
/// (B, n, k) ((G, B, n, k) for a group); auxiliary losses: the layer's objective's.
public final class CodebookIntervention: Intervention {
    /// The codebook that does the work.
    public let layer: any CodebookSiteLayer

    public init(_ layer: any CodebookSiteLayer) { self.layer = layer }

    public var typeName: String { "CodebookIntervention" }
    public var embedDimension: Int? { layer.width }
    public var form: BlockForm { .units }
    public var sourceRequirement: SourceRequirement { .none }
    /// The side output holding the code ids.
    public static let codesOutputName = "codes"

    public var namedParameters: [(name: String, parameter: Parameter)] {
        layer.namedParameters.map { (name: $0.key, parameter: $0.parameter) }
    }

    public func apply(base: Tensor, source: Tensor?, subspaces: [[Int]]?) throws -> InterventionResult {
        let output = try layer(base)
        guard let snap = layer.lastSnap, let codes = snap.codes else { return InterventionResult(output) }
        let ids = Tensor(shape: codes.shape, values: codes.values.map(Float.init))
        return InterventionResult(output, auxiliaryLosses: snap.auxiliaryLosses, sideOutputs: [Self.codesOutputName: ids])
    }

    public func stateTensors() -> [String: Tensor] {
        Dictionary(namedParameters.map { ($0.name, $0.parameter.value.detached()) }, uniquingKeysWith: { a, _ in a })
    }

    public func loadState(_ tensors: [String: Tensor]) throws {
        for (name, parameter) in namedParameters {
            guard let t = tensors[name] else { throw InterventionError.invalidState(intervention: typeName, tensor: name, reason: "is missing") }
            guard t.shape == parameter.shape else {
                throw InterventionError.invalidState(intervention: typeName, tensor: name, reason: "has shape \(t.shape), expected \(parameter.shape)")
            }
            parameter.assign(t)
        }
    }
}

extension DecoderModel {
    /// Inserts a codebook at `site` after checking that the site's width is the codebook's;
    /// throws `CodebookError.widthMismatch` naming the site otherwise (and the model's errors
    /// for a site it lacks or a taken name).
    public func insertCodebook(_ codebook: any CodebookSiteLayer, at site: Site, name: String) throws {
        let width = try siteTable.spec(for: siteTable.resolved(site)).unitDimension
        guard width == codebook.width else {
            throw CodebookError.widthMismatch(codebook: codebook.name, site: "\(site)", expected: codebook.width, actual: width)
        }
        try insert(codebook, at: site, name: name)
    }
}
