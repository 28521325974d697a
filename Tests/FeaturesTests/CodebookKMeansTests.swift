import Testing
import Features
import Intervene
import Models
import Tensors

/// k-means++ seeding and Lloyd iterations, and codebook initialisation from activations.
@Suite struct CodebookKMeansTests {
    /// `perCluster` points around each centre with N(0, spread²) noise, cluster by cluster.
    func clustered(_ centres: [[Float]], perCluster: Int, spread: Float, seed: UInt64) -> Tensor {
        var generator = RandomGenerator(seed: seed)
        var values: [Float] = []
        for c in centres { for _ in 0..<perCluster { values += c.map { $0 + spread * generator.nextNormal() } } }
        return Tensor(shape: [centres.count * perCluster, centres[0].count], values: values)
    }

    /// Zero-mean centres in distinct directions, so LayerNorm keeps them apart.
    let centres: [[Float]] = [[3, -1, -1, -1], [-1, 3, -1, -1], [-1, -1, 3, -1], [-1, -1, -1, 3], [2, 2, -2, -2]]

    @Test func clearlySeparatedClustersAreRecovered() throws {
        let data = clustered(centres, perCluster: 40, spread: 0.1, seed: 1)
        let result = try KMeans.fit(data, clusters: 5, iterations: 20, seed: 7)
        let found = result.centres.scalars
        let points = data.scalars
        for (i, c) in centres.enumerated() {
            // Every point of cluster i went to the same found centre: the mean of those points,
            // which is within sampling noise (0.1 · √(4/40) ≈ 0.03) of the true centre.
            let assigned = Set(result.assignments[(i * 40)..<(i * 40 + 40)])
            #expect(assigned.count == 1)
            let j = try #require(assigned.first)
            let centre = Array(found[(j * 4)..<(j * 4 + 4)])
            let mean = (0..<4).map { d in (0..<40).map { points[((i * 40) + $0) * 4 + d] }.reduce(0, +) / 40 }
            #expect(zip(centre, mean).allSatisfy { abs($0 - $1) < 1e-5 })
            #expect(zip(centre, c).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot() < 0.1, "centre \(i): \(centre)")
        }
        #expect(Set(result.assignments).count == 5)
        #expect(result.converged)
        // inertia ≈ N·D·spread² = 200·4·0.01.
        #expect(result.inertia > 5 && result.inertia < 11)
    }

    @Test func theSeedFixesTheResult() throws {
        let data = Tensor.randomNormal([300, 6], seed: 3)
        let a = try KMeans.fit(data, clusters: 12, seed: 4)
        let b = try KMeans.fit(data, clusters: 12, seed: 4)
        let c = try KMeans.fit(data, clusters: 12, seed: 5)
        #expect(a.centres.scalars == b.centres.scalars && a.assignments == b.assignments)
        #expect(a.centres.scalars != c.centres.scalars)
        // Lloyd never raises the inertia of the seeding alone.
        #expect(try KMeans.fit(data, clusters: 12, iterations: 0, seed: 4).inertia >= a.inertia)
    }

    @Test func duplicateRowsStillGiveEveryClusterACentre() throws {
        // Only three distinct points for five clusters: every centre is still a data row.
        let data = Tensor(shape: [9, 2], values: [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 4, 4, 4, 4, 4, 4])
        let result = try KMeans.fit(data, clusters: 5, seed: 0)
        #expect(result.centres.shape == [5, 2])
        #expect(result.inertia == 0)
    }

    @Test func badInputsAreTypedErrors() throws {
        #expect(throws: CodebookError.invalidHyperparameter(field: "k-means data", value: "3 rows", allowed: "at least 4 rows (one per cluster)")) {
            try KMeans.fit(Tensor.zeros([3, 2]), clusters: 4, seed: 0)
        }
        #expect(throws: CodebookError.self) { try KMeans.fit(Tensor.zeros([3, 2]), clusters: 0, seed: 0) }
        #expect(throws: CodebookError.self) { try KMeans.fit(Tensor.zeros([6]), clusters: 2, seed: 0) }
        let layer = try CodebookLayer(name: "c", width: 3, codeCount: 8)
        #expect(throws: CodebookError.invalidOption(codebook: "c", field: "k-means data", value: "4 rows",
                                                    allowed: "at least 8 rows, one per code (collect more tokens)")) {
            try layer.initializeWithKMeans(from: Tensor.zeros([1, 4, 3]), seed: 0)
        }
        #expect(throws: CodebookError.self) { try layer.initializeWithKMeans(from: Tensor.zeros([1, 40, 5]), seed: 0) }
        #expect(throws: CodebookError.self) { try layer.initializeWithKMeans(from: Tensor.zeros([1, 40, 3]), maxRows: 7, seed: 0) }
    }

    @Test func aLayerClustersItsLayerNormSpaceInputs() throws {
        let data = clustered(centres, perCluster: 30, spread: 0.05, seed: 2).reshaped([3, 50, 4])
        let layer = try CodebookLayer(width: 4, codeCount: 5, k: 1, similarity: .euclidean, seed: 1)
        let result = try layer.initializeWithKMeans(from: data, seed: 6)
        let normalized = data.layerNorm(weight: nil, bias: nil, epsilon: layer.epsilon).reshaped([150, 4])
        #expect(layer.codes.value.scalars == (try KMeans.fit(normalized, clusters: 5, seed: 6)).centres.scalars)
        #expect(layer.codes.value.scalars == result.centres.scalars)
        // Each cluster now snaps to one code of its own.
        let ids = try layer.snap(data).codes!.values
        let perCluster = (0..<5).map { Set(ids[($0 * 30)..<($0 * 30 + 30)]) }
        #expect(perCluster.allSatisfy { $0.count == 1 })
        #expect(Set(perCluster.flatMap { $0 }).count == 5)
    }

    @Test func groupsClusterTheirOwnSlices() throws {
        let group = try GroupCodebookLayer(width: 6, groups: 2, codeCount: 4, seed: 2)
        let data = Tensor.randomNormal([2, 20, 6], seed: 3)
        let results = try group.initializeWithKMeans(from: data, iterations: 10, seed: 9)
        #expect(results.count == 2)
        for (g, slice) in data.chunked(2, axis: -1).enumerated() {
            let single = try CodebookLayer(width: 3, codeCount: 4, seed: 0)
            try single.initializeWithKMeans(from: slice, iterations: 10, seed: 9 + UInt64(g))
            #expect(group.groups[g].codes.value.scalars == single.codes.value.scalars)
        }
    }

    @Test func aModelInitialisesFromItsOwnActivations() throws {
        let specs = [CodebookSpec(placement: .mlp, layers: [0], codeCount: 8, k: 1),
                     CodebookSpec(placement: .attentionPreprojection, layers: [1], codeCount: 6, groups: 2)]
        let sequences = (0..<6).map { r in (0..<7).map { (3 * r + 5 * $0) % 39 + 1 } }
        let model = try CodebookModel(model: tinyGPT2(), specs: specs, seed: 1)
        let before = try CodebookTraining.metrics(model, sequences: sequences)
        var calls: [Int] = []
        let results = try model.initializeWithKMeans(sequences: sequences, batchSize: 4, iterations: 10, seed: 3) { done, total in
            calls.append(done)
            #expect(total == 2)
        }
        #expect(calls == [1, 2])
        #expect(Set(results.keys) == ["L0.mlp", "L1.attn_preproj.g0", "L1.attn_preproj.g1"])
        #expect(model.codebooksEnabled)
        // The same as clustering the base model's activation at the site directly.
        let fresh = try CodebookModel(model: tinyGPT2(), specs: specs, seed: 1)
        fresh.codebooksEnabled = false
        let ids = IndexTensor(shape: [6, 7], values: sequences.flatMap { $0 })
        let site = Site(layer: 0, component: .mlpOutput)
        let activation = try fresh.model.runWithCache(.tokens(ids), sites: [site]).cache[site]!
        let direct = try #require(fresh.codebook(named: "L0.mlp"))
        try direct.initializeWithKMeans(from: activation, iterations: 10, maxRows: 16_384, seed: 3)
        #expect(model.codebook(named: "L0.mlp")!.codes.value.scalars == direct.codes.value.scalars)
        // Clustered codes reconstruct their inputs better than random ones.
        let after = try CodebookTraining.metrics(model, sequences: sequences)
        let mlpBefore = before.first { $0.name == "L0.mlp" }!, mlpAfter = after.first { $0.name == "L0.mlp" }!
        #expect(mlpAfter.reconstructionMSE < 0.5 * mlpBefore.reconstructionMSE)
        #expect(throws: TrainingError.emptyDataset("k-means initialisation")) { try model.initializeWithKMeans(sequences: [], seed: 0) }
    }
}
