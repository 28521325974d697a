import Tensors

/// The geometric median of a set of points, argmin_y Σᵢ ‖xᵢ − y‖₂ — where sparse autoencoders
/// start their pre-encoder (decoder) bias.
public enum GeometricMedian {
    /// Weiszfeld's iterations from the mean: y ← Σᵢ wᵢ xᵢ / Σᵢ wᵢ with wᵢ = 1 / max(‖xᵢ − y‖, 1e-8),
    /// until y moves by at most `tolerance` · (‖y‖ + 1) or `iterations` run out.
    /// Shapes: points (n, d) with n ≥ 1 → (d).
    public static func of(_ points: Tensor, iterations: Int = 100, tolerance: Float = 1e-6) -> Tensor {
        precondition(points.rank == 2 && points.shape[0] >= 1, "points must be (n ≥ 1, d), got \(points.shape)")
        return Tensor.withoutGradients {
            var y = points.mean(axis: 0)
            for _ in 0..<iterations {
                let distances = (points - y).square().sum(axis: 1).sqrt()
                let weights = distances.map { 1 / Swift.max($0, 1e-8) }
                let next = weights.matmul(points) / weights.sum().item
                let moved = (next - y).square().sum().item.squareRoot()
                let size = y.square().sum().item.squareRoot()
                y = next
                if moved <= tolerance * (size + 1) { break }
            }
            return y
        }
    }
}
