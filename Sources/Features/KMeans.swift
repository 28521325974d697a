import Foundation
import Tensors

/// What `KMeans.fit` found.
public struct KMeansResult {
    /// The cluster centres, (C, D).
    public var centres: Tensor
    /// The centre of each row, (N).
    public var assignments: [Int]
    /// Σ_i min_c ‖x_i − centre_c‖², over the rows the fit used.
    public var inertia: Double
    /// Lloyd iterations run.
    public var iterations: Int
    /// Whether the assignments stopped changing before the iteration limit.
    public var converged: Bool
}

/// k-means on the rows of a matrix X (N, D): greedy k-means++ seeding, then Lloyd iterations.
///
/// * Seeding: the first centre is a uniformly drawn row; each further centre is the best of
///   L = 2 + ⌊ln C⌋ candidate rows drawn with probability ∝ D(x)², the squared distance to the
///   nearest centre so far, "best" meaning the smallest Σ_x min(D(x)², ‖x − candidate‖²).
/// * Lloyd: assign every row to its nearest centre, move every centre to the mean of its rows;
///   a centre left without rows moves to the row farthest from its own centre. Stops when no
///   assignment changes or after `iterations` iterations.
///
/// Squared distances come from ‖x‖² − 2⟨x, c⟩ + ‖c‖², the inner products from sgemm
/// (`Tensor.matmul`) over blocks of rows, so memory stays at O(block · C). A seed fixes every
/// random choice.
public enum KMeans {
    /// Rows per block of the distance computation.
    static let blockRows = 2048

    /// Clusters the rows of `data` (N, D) into `clusters` centres. Throws `invalidHyperparameter`
    /// for a data tensor that is not 2-D or has fewer rows than clusters, a non-positive cluster
    /// count or a negative iteration count.
    public static func fit(_ data: Tensor, clusters: Int, iterations: Int = 25, seed: UInt64) throws -> KMeansResult {
        guard data.rank == 2 else {
            throw CodebookError.invalidHyperparameter(field: "k-means data", value: "shape \(data.shape)", allowed: "a 2-D tensor (rows, width)")
        }
        guard clusters > 0 else { throw CodebookError.invalidHyperparameter(field: "clusters", value: "\(clusters)", allowed: "a positive integer") }
        guard iterations >= 0 else { throw CodebookError.invalidHyperparameter(field: "iterations", value: "\(iterations)", allowed: "an integer ≥ 0") }
        guard data.shape[0] >= clusters else {
            throw CodebookError.invalidHyperparameter(field: "k-means data", value: "\(data.shape[0]) rows",
                                                      allowed: "at least \(clusters) rows (one per cluster)")
        }
        let x = Tensor.withoutGradients { data.detached().contiguous() }
        let values = x.scalars, d = x.shape[1]
        let norms = rowSquaredNorms(values, width: d)
        var generator = RandomGenerator(seed: seed)
        var centres = seedCentres(x, values: values, norms: norms, clusters: clusters, generator: &generator)
        var assignments: [Int] = [], ran = 0, converged = false
        for _ in 0..<iterations {
            let (nearest, distances) = assign(x, norms: norms, centres: centres)
            if nearest == assignments { converged = true; break }
            assignments = nearest
            centres = updatedCentres(values, width: d, assignments: nearest, distances: distances, clusters: clusters)
            ran += 1
        }
        let (nearest, distances) = assign(x, norms: norms, centres: centres)
        return KMeansResult(centres: Tensor(shape: [clusters, d], values: centres), assignments: nearest,
                            inertia: distances.reduce(0) { $0 + Double($1) }, iterations: ran, converged: converged)
    }

    /// ‖x_i‖² per row.
    static func rowSquaredNorms(_ values: [Float], width: Int) -> [Float] {
        let rows = values.count / Swift.max(width, 1)
        return (0..<rows).map { r in
            var s: Float = 0
            for i in (r * width)..<((r + 1) * width) { s += values[i] * values[i] }
            return s
        }
    }

    /// ‖x_i − y_j‖² for every row of x and every row j of `others` (M, D), as N × M row-major.
    static func squaredDistances(_ x: Tensor, norms: [Float], to others: Tensor) -> [Float] {
        let m = others.shape[0]
        let otherNorms = rowSquaredNorms(others.scalars, width: others.shape[1])
        let products = Tensor.withoutGradients { x.matmul(others.transposed()) }.scalars
        var out = products
        for i in 0..<norms.count {
            for j in 0..<m { out[i * m + j] = Swift.max(0, norms[i] - 2 * products[i * m + j] + otherNorms[j]) }
        }
        return out
    }

    /// Greedy k-means++: C centres as rows of the data, row-major (C · D).
    static func seedCentres(_ x: Tensor, values: [Float], norms: [Float], clusters: Int,
                            generator: inout RandomGenerator) -> [Float] {
        let n = norms.count, d = x.shape[1]
        let trials = 2 + Int(Foundation.log(Double(clusters)))
        var chosen = [generator.nextInt(below: n)]
        var closest = squaredDistances(x, norms: norms, to: x.indexSelect(axis: 0, indices: chosen))
        while chosen.count < clusters {
            var prefix = [Double](repeating: 0, count: n), total = 0.0
            for i in 0..<n { total += Double(closest[i]); prefix[i] = total }
            let candidates: [Int] = (0..<trials).map { _ in
                guard total > 0 else { return generator.nextInt(below: n) }
                let u = Double(generator.nextUniform()) * total
                var lo = 0, hi = n - 1
                while lo < hi { let mid = (lo + hi) / 2; if prefix[mid] <= u { lo = mid + 1 } else { hi = mid } }
                return lo
            }
            let distances = squaredDistances(x, norms: norms, to: x.indexSelect(axis: 0, indices: candidates))
            var best = 0, bestPotential = Double.infinity
            for t in 0..<trials {
                var potential = 0.0
                for i in 0..<n { potential += Double(Swift.min(closest[i], distances[i * trials + t])) }
                if potential < bestPotential { bestPotential = potential; best = t }
            }
            for i in 0..<n { closest[i] = Swift.min(closest[i], distances[i * trials + best]) }
            chosen.append(candidates[best])
        }
        var centres: [Float] = []
        centres.reserveCapacity(clusters * d)
        for row in chosen { centres += values[(row * d)..<((row + 1) * d)] }
        return centres
    }

    /// The nearest centre of every row and the squared distance to it, in blocks of rows.
    static func assign(_ x: Tensor, norms: [Float], centres: [Float]) -> (nearest: [Int], distances: [Float]) {
        let n = norms.count, d = x.shape[1], c = centres.count / d
        let table = Tensor(shape: [c, d], values: centres)
        var nearest = [Int](repeating: 0, count: n), distances = [Float](repeating: 0, count: n)
        for start in stride(from: 0, to: n, by: blockRows) {
            let rows = Swift.min(blockRows, n - start)
            let block = squaredDistances(x.narrowed(0, start: start, length: rows), norms: Array(norms[start..<(start + rows)]), to: table)
            for r in 0..<rows {
                var best = 0, bestDistance = block[r * c]
                for j in 1..<Swift.max(c, 1) where block[r * c + j] < bestDistance { best = j; bestDistance = block[r * c + j] }
                nearest[start + r] = best
                distances[start + r] = bestDistance
            }
        }
        return (nearest, distances)
    }

    /// The mean of each cluster's rows; an empty cluster takes the row farthest from its centre
    /// (each such row used once).
    static func updatedCentres(_ values: [Float], width d: Int, assignments: [Int], distances: [Float], clusters: Int) -> [Float] {
        var sums = [Double](repeating: 0, count: clusters * d), counts = [Int](repeating: 0, count: clusters)
        for (row, cluster) in assignments.enumerated() {
            counts[cluster] += 1
            for i in 0..<d { sums[cluster * d + i] += Double(values[row * d + i]) }
        }
        var centres = [Float](repeating: 0, count: clusters * d)
        let anyEmpty = counts.contains(0)
        var farthest = (anyEmpty ? assignments.indices.sorted { (distances[$0], $1) > (distances[$1], $0) } : []).makeIterator()
        for cluster in 0..<clusters {
            if counts[cluster] > 0 {
                for i in 0..<d { centres[cluster * d + i] = Float(sums[cluster * d + i] / Double(counts[cluster])) }
            } else if let row = farthest.next() {
                for i in 0..<d { centres[cluster * d + i] = values[row * d + i] }
            }
        }
        return centres
    }
}
