import Foundation
import Testing
import Features
import Intervene
import Tensors

/// Training sparse autoencoders on activations with a known sparse dictionary (64-dim rows,
/// 4 of 128 random unit directions each).
@Suite struct SAETrainingTests {
    func options(_ activation: SAEActivation, steps: Int = 600, latents: Int = 256) -> SAETrainingOptions {
        var o = SAETrainingOptions(activation: activation, latents: latents, steps: steps)
        o.batchSize = 256
        o.learningRate = 3e-3
        o.bufferRows = 4096
        o.initialisationSample = 2048
        o.deadAfterTokens = 20_000
        return o
    }

    func train(_ o: SAETrainingOptions, seed: UInt64 = 1) throws -> (sae: SparseAutoencoder, metrics: SAETrainingMetrics) {
        try SAETraining.train(source: SparseDictionarySource(seed: seed), options: o)
    }

    /// Held-out variance explained and mean L0 of a trained SAE on fresh rows of the same data.
    func heldOut(_ sae: SparseAutoencoder, seed: UInt64 = 1) throws -> SAEEvaluation {
        let source = SparseDictionarySource(chunk: 4000, seed: seed)
        _ = try source.nextRows()  // a different stretch of the stream than training saw first
        let x = try #require(try source.nextRows())
        var statistics = SAEStatistics(width: 64, latents: sae.latents)
        let z = sae.encode(x).latents
        statistics.add(activations: x, reconstruction: sae.decode(z), latents: z)
        return statistics.evaluation
    }

    @Test(arguments: [SAEActivation.topK(6), .batchTopK(6), .relu, .jumpReLU])
    func everyArchitectureLearnsTheDictionary(_ activation: SAEActivation) throws {
        var o = options(activation)
        if activation == .relu { o.sparsityCoefficient = 0.5 }
        if activation == .jumpReLU { (o.sparsityCoefficient, o.initialThreshold, o.bandwidth) = (0.1, 1, 0.2) }
        let (sae, metrics) = try train(o)
        let held = try heldOut(sae)
        #expect(metrics.steps == 600 && metrics.tokens == 600 * 256)
        #expect(metrics.varianceExplained > 0.9, "\(activation): training FVE \(metrics.varianceExplained)")
        #expect(held.varianceExplained > 0.9, "\(activation): held-out FVE \(held.varianceExplained), L0 \(held.meanL0)")
        #expect(held.meanL0 < 16, "\(activation): L0 \(held.meanL0)")
        if case .batchTopK = activation { #expect(sae.activation == .jumpReLU && sae.threshold.value.maxValue() > 0) }
        if activation == .jumpReLU { #expect(sae.threshold.value.scalars.allSatisfy { $0 > 0 }) }
    }

    @Test func theSameSeedGivesTheSameAutoencoder() throws {
        let a = try train(options(.topK(6), steps: 60)).sae, b = try train(options(.topK(6), steps: 60)).sae
        var other = options(.topK(6), steps: 60)
        other.seed = 9
        let c = try train(other).sae
        for (name, p) in a.namedParameters {
            let q = try #require(b.namedParameters.first { $0.key == name }).parameter
            #expect(p.value.scalars == q.value.scalars, "\(name) differs between runs with one seed")
        }
        #expect(a.decoderWeight.value.scalars != c.decoderWeight.value.scalars)
    }

    /// Unit-norm architectures keep every decoder row at norm 1 (the scale is folded into the
    /// biases); ReLU's rows are free.
    @Test func decoderRowsStayAtUnitNorm() throws {
        for activation in [SAEActivation.topK(6), .jumpReLU] {
            let sae = try train(options(activation, steps: 100)).sae
            let norms = sae.decoderWeight.value.square().sum(axis: 1).sqrt().scalars
            #expect(norms.allSatisfy { abs($0 - 1) < 1e-4 }, "\(activation): norms from \(norms.min()!) to \(norms.max()!)")
        }
        let relu = try train(options(.relu, steps: 100)).sae
        let norms = relu.decoderWeight.value.square().sum(axis: 1).sqrt().scalars
        #expect(norms.contains { abs($0 - 1) > 0.05 })
    }

    /// With as many atoms as latents (256, two per row) and a high learning rate, some latents
    /// die early; AuxK trains the dead ones on the residual until most fire again, and the
    /// reconstruction improves.
    @Test func auxKRevivesDeadLatents() throws {
        var with = options(.topK(4))
        (with.learningRate, with.deadAfterTokens, with.seed) = (1e-2, 2560, 3)
        var without = with
        without.auxKCoefficient = 0
        func run(_ o: SAETrainingOptions) throws -> SAETrainingMetrics {
            try SAETraining.train(source: SparseDictionarySource(atoms: 256, active: 2), options: o).metrics
        }
        let dead = try run(without), revived = try run(with)
        #expect(dead.deadFraction > 0.03, "without AuxK \(dead.deadFraction) of the latents are dead")
        #expect(revived.deadFraction < dead.deadFraction / 3, "dead fraction \(revived.deadFraction) with AuxK vs \(dead.deadFraction) without")
        #expect(revived.varianceExplained > dead.varianceExplained + 0.01)
    }

    @Test func metricsAreWrittenAsJSON() throws {
        let metrics = try train(options(.topK(6), steps: 20)).metrics
        let path = NSTemporaryDirectory() + "sae-metrics-\(UUID().uuidString).json"
        try metrics.write(to: path)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        for key in ["steps", "tokens", "seconds", "tokens_per_second", "final_mse", "variance_explained", "mean_l0", "dead_fraction"] {
            #expect(object[key] != nil, "metrics JSON lacks \(key)")
        }
        #expect(object["steps"] as? Int == 20 && object["tokens"] as? Int == 20 * 256 && object["k"] as? Int == 6)
        #expect(try JSONDecoder().decode(SAETrainingMetrics.self, from: Data(contentsOf: URL(fileURLWithPath: path))) == metrics)
    }

    @Test func badOptionsAndTooLittleDataAreNamed() throws {
        var o = options(.topK(300))
        #expect(throws: SAEError.invalid(field: "k", value: "300", allowed: "1...256 (the latents)")) { try train(o) }
        o = options(.relu)
        o.learningRate = .nan
        #expect(throws: SAEError.self) { try train(o) }
        o = options(.relu)
        o.bufferRows = 100
        #expect(throws: SAEError.invalid(field: "buffer", value: "100", allowed: "at least the batch size (256 rows)")) { try train(o) }
        #expect(throws: TrainingError.self) {
            try SAETraining.train(source: SparseDictionarySource(limit: 100), options: options(.relu))
        }
    }
}

/// The pieces under training: the geometric median and the shuffle buffer.
@Suite struct SAETrainingPartsTests {
    @Test func geometricMedianOfKnownPoints() {
        // On a line the geometric median is the median: the outlier does not pull it.
        let line = Tensor(shape: [5, 1], values: [0, 1, 2, 3, 100])
        #expect(abs(GeometricMedian.of(line, iterations: 500).item - 2) < 1e-2)
        // An equilateral triangle's Fermat point is its centroid.
        let h = Float(3).squareRoot() / 2
        let triangle = Tensor([[0, 0], [1, 0], [0.5, h]])
        let fermat = GeometricMedian.of(triangle, iterations: 500).scalars
        #expect(abs(fermat[0] - 0.5) < 1e-3 && abs(fermat[1] - h / 3) < 1e-3)
        // Random points: the unit vectors from the median sum to (nearly) zero.
        let points = Tensor.randomNormal([200, 5], seed: 3) + Tensor([4, -2, 0, 1, 3])
        let y = GeometricMedian.of(points, iterations: 500)
        let directions = (points - y) / (points - y).square().sum(axis: 1, keepDims: true).sqrt()
        #expect(directions.sum(axis: 0).abs().maxValue() < 0.05)
    }

    @Test func theBufferHandsOutEveryRowOnceInShuffledOrder() throws {
        let source = SparseDictionarySource(width: 3, atoms: 4, active: 1, chunk: 7, limit: 50)
        let buffer = try ActivationShuffleBuffer(width: 3, capacity: 20, seed: 4)
        var rows: [[Float]] = []
        while true {
            try buffer.fill(from: source)
            if buffer.count == 0 { break }
            let batch = buffer.draw(min(6, buffer.count)).scalars
            rows += stride(from: 0, to: batch.count, by: 3).map { Array(batch[$0..<($0 + 3)]) }
        }
        #expect(rows.count == 50 && buffer.rowsRead == 50 && buffer.sourceEnded)
        let again = SparseDictionarySource(width: 3, atoms: 4, active: 1, chunk: 50, limit: 50)
        let original = try #require(try again.nextRows()).scalars
        let ordered = stride(from: 0, to: 150, by: 3).map { Array(original[$0..<($0 + 3)]) }
        func key(_ r: [Float]) -> String { r.map { "\($0)" }.joined(separator: ",") }
        #expect(rows.map(key).sorted() == ordered.map(key).sorted())
        #expect(rows.map(key) != ordered.map(key))
        // With three uses each row comes out three times.
        let reused = try ActivationShuffleBuffer(width: 3, capacity: 20, uses: 3, seed: 5)
        let source3 = SparseDictionarySource(width: 3, atoms: 4, active: 1, chunk: 7, limit: 50)
        var drawn: [String] = []
        while true {
            try reused.fill(from: source3)
            if reused.count == 0 { break }
            let batch = reused.draw(1).scalars
            drawn.append(key(batch))
        }
        #expect(drawn.count == 150 && Set(drawn) == Set(ordered.map(key)))
        #expect(Dictionary(grouping: drawn, by: { $0 }).values.allSatisfy { $0.count == 3 })
    }
}
