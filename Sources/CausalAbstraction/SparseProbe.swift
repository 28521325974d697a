import Tensors

/// A probe restricted to k neurons, with the neurons it chose.
public struct SparseProbeResult: Sendable {
    /// Number of neurons kept.
    public let k: Int
    /// Indices of the kept neurons (columns of the activations), best-scored first.
    public let neurons: [Int]
    /// The linear probe on those columns, in the order of `neurons`.
    public let result: ProbeResult
}

/// k-sparse probing over neurons (after Gurnee et al. 2023, "Finding Neurons in a Haystack"):
/// rank every neuron by a cheap score, keep the top k, and fit a linear probe on those only.
///
/// Score of neuron j, computed on the training rows only (the test rows never influence the
/// choice): s_j = max over classes c of |μ_cj − μ_j| / σ_j, where μ_cj is the mean activation of
/// neuron j over training rows of class c, μ_j and σ_j its mean and standard deviation over all
/// training rows. For two classes this is the class-mean difference in standard deviations (up
/// to a constant factor). Ties are broken by the lower neuron index.
public enum SparseProbing {
    /// Neuron indices sorted by score, best first, with their scores.
    public static func rankNeurons(rows: Tensor, labels: [Int], trainRows: [Int], classes: Int) -> [(neuron: Int, score: Double)] {
        let d = rows.shape[1], values = rows.contiguous().scalars
        let (mean, inverseScale) = LinearProbing.statistics(values, columns: d, rows: trainRows)
        var classSums = [Double](repeating: 0, count: classes * d), classCounts = [Int](repeating: 0, count: classes)
        for r in trainRows {
            let c = labels[r]
            classCounts[c] += 1
            for j in 0..<d { classSums[c * d + j] += Double(values[r * d + j]) }
        }
        var scores = [Double](repeating: 0, count: d)
        for c in 0..<classes where classCounts[c] > 0 {
            for j in 0..<d {
                let gap = Swift.abs(classSums[c * d + j] / Double(classCounts[c]) - Double(mean[j])) * Double(inverseScale[j])
                scores[j] = Swift.max(scores[j], gap)
            }
        }
        return scores.enumerated().map { (neuron: $0.offset, score: $0.element) }
            .sorted { $0.score != $1.score ? $0.score > $1.score : $0.neuron < $1.neuron }
    }

    /// For each k in `ks` (each in 1...D), fits a linear probe on the k best-ranked neurons.
    /// Every k uses the same seeded split, so accuracies are comparable across k.
    public static func fit(rows: Tensor, labels: [Int], ks: [Int], options: ProbeOptions = ProbeOptions()) throws -> [SparseProbeResult] {
        let (n, d, classes) = try LinearProbing.validate(rows, labels: labels, options: options)
        guard !ks.isEmpty else { throw ProbeError.invalid(field: "ks", value: "[]", allowed: "at least one k in 1...\(d)") }
        if let bad = ks.first(where: { $0 < 1 || $0 > d }) { throw ProbeError.invalid(field: "k", value: "\(bad)", allowed: "1...\(d) (the number of neurons)") }
        let train = LinearProbing.split(count: n, testFraction: options.testFraction, seed: options.seed).train
        let ranking = rankNeurons(rows: rows, labels: labels, trainRows: train, classes: classes).map(\.neuron)
        var fixed = options
        fixed.classes = classes
        return try ks.map { k in
            let neurons = Array(ranking.prefix(k))
            let result = try LinearProbing.fit(rows: rows.indexSelect(axis: 1, indices: neurons), labels: labels, options: fixed)
            return SparseProbeResult(k: k, neurons: neurons, result: result)
        }
    }
}
