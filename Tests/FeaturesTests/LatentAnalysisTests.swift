import Foundation
import Testing
@testable import Features
import Intervene
import Models
import Tensors

/// The latent analysis against brute force: every activation kept, sorted and binned.
enum LatentBruteForce {
    struct Entry { let value: Float, ordinal: Int, window: Int, position: Int, tokens: [Int] }

    /// The statistics computed from every (token, latent) activation at once.
    static func statistics(_ z: [[Float]], windows: [(window: Int, position: Int, tokens: [Int])], latents l: Int,
                           top k: Int, radius c: Int, bins b: Int) -> LatentStatistics {
        var s = LatentStatistics(latents: l, topCount: k, contextRadius: c, bins: b)
        s.tokens = z.count
        for i in 0..<l {
            var entries: [Entry] = []
            for (t, row) in z.enumerated() where row[i] > 0 && row[i].isFinite {
                let (w, p, tokens) = windows[t]
                let context = (p - c...p + c).map { $0 >= 0 && $0 < tokens.count ? tokens[$0] : -1 }
                entries.append(Entry(value: row[i], ordinal: t, window: w, position: p, tokens: context))
            }
            s.firing[i] = entries.count
            s.maximum[i] = entries.map(\.value).max() ?? 0
            s.meanActivation[i] = entries.isEmpty ? 0 : Float(entries.reduce(0.0) { $0 + Double($1.value) } / Double(entries.count))
            var width = LatentHistogram.smallestBinWidth
            while s.maximum[i] >= Float(b) * width { width *= 2 }
            s.binWidths[i] = width
            for e in entries { s.histogramCounts[i * b + Int(e.value / width)] += 1 }
            let best = entries.sorted { $0.value > $1.value || ($0.value == $1.value && $0.ordinal < $1.ordinal) }.prefix(k)
            s.contextCounts[i] = best.count
            for (slot, e) in best.enumerated() {
                s.contextActivations[i * k + slot] = e.value
                s.contextWindows[i * k + slot] = e.window
                s.contextPositions[i * k + slot] = e.position
                for (j, token) in e.tokens.enumerated() { s.contextTokens[(i * k + slot) * (2 * c + 1) + j] = Int32(token) }
            }
        }
        return s
    }
}

@Suite struct LatentAnalysisTests {
    func sae(width: Int = 16, latents: Int = 12) throws -> SparseAutoencoder {
        let s = try SparseAutoencoder(width: width, latents: latents, activation: .relu, seed: 3)
        s.encoderBias.assign(Tensor.randomNormal([latents], std: 0.3, seed: 4))
        return s
    }

    func windows(_ count: Int, length: Int, seed: UInt64) -> [[Int]] {
        var g = RandomGenerator(seed: seed)
        return (0..<count).map { _ in (0..<length).map { _ in g.nextInt(below: 40) } }
    }

    @Test func accumulatorEqualsBruteForceWithTiesAndSkippedValues() throws {
        // Values from a small set, so that ties are common; NaN and ∞ are not counted.
        var g = RandomGenerator(seed: 11)
        let l = 5, palette: [Float] = [-1, 0, 0.25, 0.5, 0.5, 1, 3, 3, 7.5, .nan, .infinity]
        let tokens = (0..<9).map { _ in g.nextInt(below: 50) }
        let accumulator = try LatentAccumulator(latents: l, topCount: 4, contextRadius: 2, bins: 6)
        var all: [[Float]] = [], where_: [(window: Int, position: Int, tokens: [Int])] = []
        for window in 0..<7 {
            let rows = (1..<9).map { _ in (0..<l).map { _ in palette[g.nextInt(below: palette.count)] } }
            rows.joined().map { $0 }.withUnsafeBufferPointer { accumulator.add(latents: $0, window: window, windowTokens: tokens, positions: 1..<9) }
            all += rows
            where_ += (1..<9).map { (window, $0, tokens) }
        }
        let expected = LatentBruteForce.statistics(all, windows: where_, latents: l, top: 4, radius: 2, bins: 6)
        #expect(accumulator.finish() == expected)
    }

    @Test func histogramBinsArePowerOfTwoWidths() throws {
        let accumulator = try LatentAccumulator(latents: 1, topCount: 1, contextRadius: 0, bins: 4)
        for v: Float in [0.5, 1.0, 3.9, 7.99, 0] { [v].withUnsafeBufferPointer { accumulator.add(latents: $0, window: 0, windowTokens: [1], positions: 0..<1) } }
        let s = accumulator.finish()
        #expect(s.histogram(of: 0) == LatentHistogram(binWidth: 2, counts: [2, 1, 0, 1]))
        #expect(s.firing == [4] && s.tokens == 5 && s.maximum == [7.99] && s.frequency(of: 0) == 0.8)
        #expect(s.contexts(of: 0) == [LatentContext(activation: 7.99, window: 0, position: 0, tokens: [1])])
    }

    /// The statistics of a run over a tiny GPT-2 equal brute force over the same activations.
    @Test func runOverAModelEqualsBruteForce() throws {
        let model = tinyGPT2(), sae = try sae()
        let corpus = windows(5, length: 7, seed: 2)
        let site = Site(layer: 1, component: .blockOutput)
        var all: [[Float]] = [], where_: [(window: Int, position: Int, tokens: [Int])] = []
        for (w, ids) in corpus.enumerated() {
            let x = try Tensor.withoutGradients {
                try model.runWithCache(.tokens(IndexTensor(shape: [1, 7], values: ids)), sites: [site]).cache[site]!.reshaped([7, 16])
            }
            let z = sae.encode(x).latents.scalars
            for p in 1..<7 { all.append(Array(z[(p * 12)..<((p + 1) * 12)])); where_.append((w, p, ids)) }
        }
        let expected = LatentBruteForce.statistics(all, windows: where_, latents: 12, top: 3, radius: 2, bins: 8)
        var iterator = corpus.makeIterator()
        var reported: [(Int, Int)] = []
        let options = LatentAnalysisOptions(top: 3, contextRadius: 2, bins: 8, batchSize: 1, skipPositions: 1)
        let found = try LatentAnalysis.statistics(of: sae, model: model, site: site, options: options, nextWindow: { iterator.next() }) {
            reported.append(($0, $1))
        }
        #expect(found == expected)
        #expect(reported.last! == (5, 30) && reported.count == 5)
        // Batched passes give the same statistics up to the rounding of a batched forward.
        var again = corpus.makeIterator()
        let batched = try LatentAnalysis.statistics(of: sae, model: model, site: site, options: .init(top: 3, contextRadius: 2, bins: 8, batchSize: 3),
                                                    nextWindow: { again.next() })
        #expect(batched.firing == found.firing && batched.contextPositions == found.contextPositions && batched.contextTokens == found.contextTokens)
        #expect(zip(batched.contextActivations, found.contextActivations).allSatisfy { abs($0 - $1) < 1e-5 })
    }

    @Test func sitesAndOptionsThatDoNotFitAreNamed() throws {
        let model = tinyGPT2()
        func run(_ sae: SparseAutoencoder, _ site: Site, _ options: LatentAnalysisOptions = .init(), windows: [[Int]] = [[1, 2, 3]]) throws {
            var it = windows.makeIterator()
            _ = try LatentAnalysis.statistics(of: sae, model: model, site: site, options: options, nextWindow: { it.next() })
        }
        #expect(throws: SAEError.self) { try run(try sae(width: 64), Site(layer: 0, component: .blockOutput)) }
        #expect(throws: SAEError.self) { try run(try sae(width: 8), Site(layer: 0, component: .headAttentionValueOutput)) }
        #expect(throws: SAEError.invalid(field: "bins", value: "7", allowed: "an even integer ≥ 2")) {
            try run(try sae(), Site(layer: 0, component: .blockOutput), .init(bins: 7))
        }
        #expect(throws: SAEError.invalid(field: "window", value: "1 tokens", allowed: "more than skipPositions = 1 tokens")) {
            try run(try sae(), Site(layer: 0, component: .blockOutput), windows: [[4]])
        }
        #expect(throws: SiteError.self) { try run(try sae(), Site(layer: 5, component: .blockOutput)) }
    }
}
