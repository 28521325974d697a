import Models
import Tensors

/// Interchange in the space of principal components fitted to collected activations:
///
///     z = (x − μ) / σ;   rb = z_base · Cᵀ,  rs = z_source · Cᵀ   (C: k × n components)
///     out = base + ((m ⊙ (rs − rb)) · C) ⊙ σ
///
/// With k = n this equals pyvene's `((mix · C) ⊙ σ + μ)`; with k < n it also keeps the part of
/// the base outside the k components (pyvene's formula drops it). Not trained. Block: (B, n).
public final class PCARotatedSpaceIntervention: Intervention {
    public var typeName: String { "PCARotatedSpaceIntervention" }
    public private(set) var components: Tensor
    public private(set) var mean: Tensor
    public private(set) var standardDeviation: Tensor
    public var interchangeDimension: Int?
    public var embedDimension: Int? { components.shape[1] }
    public var form: BlockForm { .flattened }
    public var sourceRequirement: SourceRequirement { .source }

    /// An unfitted intervention (identity components) of width n; call `fit`.
    public init(embedDimension n: Int, components k: Int? = nil, interchangeDimension: Int? = nil) {
        components = Tensor.eye(n).narrowed(0, start: 0, length: k ?? n).contiguous()
        mean = Tensor.zeros([n])
        standardDeviation = Tensor.ones([n])
        self.interchangeDimension = interchangeDimension
    }

    /// Fits μ, σ and the top k principal components of `activations` (N × n) with LAPACK's
    /// divide-and-conquer SVD (sgesdd).
    public func fit(_ activations: Tensor) throws {
        let n = components.shape[1], k = components.shape[0]
        guard activations.rank == 2, activations.shape[1] == n, activations.shape[0] >= 2 else {
            throw InterventionError.dimensionMismatch(intervention: typeName, field: "activations (N × n)", expected: n, actual: activations.shape.last ?? 0)
        }
        let mu = activations.mean(axis: 0)
        let centered = activations - mu
        let sigma = (centered.square().mean(axis: 0) + 1e-8).sqrt()
        let (_, _, vt) = try LinearAlgebra.svd(centered / sigma)
        let available = vt.shape[0]
        var top = vt.narrowed(0, start: 0, length: Swift.min(k, available)).contiguous()
        if top.shape[0] < k { top = Tensor.concatenate([top, Tensor.zeros([k - top.shape[0], n])], axis: 0) }
        components = top
        mean = mu.detached()
        standardDeviation = sigma.detached()
    }

    public var hyperparameters: JSONObject {
        var h = JSONObject([("embed_dim", .int(components.shape[1])), ("components", .int(components.shape[0]))])
        if let interchangeDimension { h["interchange_dim"] = .int(interchangeDimension) }
        return h
    }

    public func stateTensors() -> [String: Tensor] {
        ["pca_components": components, "pca_mean": mean, "pca_std": standardDeviation]
    }

    public func loadState(_ tensors: [String: Tensor]) throws {
        components = try stateTensor(tensors, "pca_components", shape: components.shape, intervention: typeName)
        mean = try stateTensor(tensors, "pca_mean", shape: mean.shape, intervention: typeName)
        standardDeviation = try stateTensor(tensors, "pca_std", shape: standardDeviation.shape, intervention: typeName)
    }

    public func apply(base: Tensor, source: Tensor?, subspaces: [[Int]]?) throws -> InterventionResult {
        guard let source else { throw InterventionError.missingSource(intervention: typeName) }
        let c = components
        let rb = ((base - mean) / standardDeviation).matmul(c.transposed())
        let rs = ((source - mean) / standardDeviation).matmul(c.transposed())
        var difference = rs - rb
        if let m = try SubspaceMask.make(blockShape: difference.shape, subspaces: subspaces, limit: interchangeDimension, intervention: typeName) {
            difference = difference * m
        }
        return InterventionResult(base + difference.matmul(c) * standardDeviation)
    }
}
