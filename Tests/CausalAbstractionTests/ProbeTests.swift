import Foundation
import Testing
@testable import CausalAbstraction
import Tensors

/// N rows of D standard-normal features with labels 0..<classes drawn uniformly; when
/// `informative` is non-empty, class c adds `shift`·(c − (classes−1)/2) to those neurons.
func probeData(rows n: Int, features d: Int, classes: Int, informative: [Int], shift: Float, seed: UInt64) -> (Tensor, [Int]) {
    var g = RandomGenerator(seed: seed)
    var values = [Float](repeating: 0, count: n * d), labels = [Int](repeating: 0, count: n)
    for i in 0..<n {
        labels[i] = g.nextInt(below: classes)
        for j in 0..<d { values[i * d + j] = g.nextNormal() }
        for j in informative { values[i * d + j] += shift * (Float(labels[i]) - Float(classes - 1) / 2) }
    }
    return (Tensor(shape: [n, d], values: values), labels)
}

@Suite struct LinearProbeTests {
    @Test func separableDataIsProbedAlmostPerfectly() throws {
        let (x, y) = probeData(rows: 300, features: 12, classes: 3, informative: [1, 5], shift: 8, seed: 1)
        let fitted = try LinearProbing.fit(rows: x, labels: y)
        #expect(fitted.trainAccuracy >= 0.98)
        #expect(fitted.testAccuracy >= 0.97)
        #expect(fitted.testRows.count == 75 && fitted.trainRows.count == 225)
        #expect(Set(fitted.trainRows).isDisjoint(with: fitted.testRows))
        #expect(fitted.probe.weight.shape == [12, 3] && fitted.probe.bias.shape == [3])
    }

    @Test func independentLabelsGiveChanceTestAccuracy() throws {
        let (x, y) = probeData(rows: 400, features: 8, classes: 2, informative: [], shift: 0, seed: 2)
        let fitted = try LinearProbing.fit(rows: x, labels: y)
        #expect(fitted.testAccuracy > 0.35 && fitted.testAccuracy < 0.65, "test accuracy \(fitted.testAccuracy)")
    }

    @Test func weightDecayShrinksWeights() throws {
        let (x, y) = probeData(rows: 200, features: 6, classes: 2, informative: [0], shift: 6, seed: 3)
        var strong = ProbeOptions()
        strong.weightDecay = 1
        func norm(_ t: Tensor) -> Float { t.scalars.map { $0 * $0 }.reduce(0, +) }
        let loose = try LinearProbing.fit(rows: x, labels: y).probe.weight
        let tight = try LinearProbing.fit(rows: x, labels: y, options: strong).probe.weight
        #expect(norm(tight) < 0.5 * norm(loose))
    }

    @Test func sameSeedSameProbeOtherSeedOtherSplit() throws {
        let (x, y) = probeData(rows: 120, features: 5, classes: 3, informative: [2], shift: 2, seed: 4)
        var options = ProbeOptions()
        options.seed = 9
        let a = try LinearProbing.fit(rows: x, labels: y, options: options)
        let b = try LinearProbing.fit(rows: x, labels: y, options: options)
        #expect(a.probe.weight.scalars == b.probe.weight.scalars && a.testRows == b.testRows && a.testAccuracy == b.testAccuracy)
        options.seed = 10
        #expect(try LinearProbing.fit(rows: x, labels: y, options: options).testRows != a.testRows)
    }

    @Test func badInputsThrowNamedErrors() throws {
        let (x, y) = probeData(rows: 10, features: 3, classes: 2, informative: [], shift: 0, seed: 5)
        func field(_ body: () throws -> Void) -> String? {
            do { try body(); return nil } catch ProbeError.invalid(let field, _, _) { return field } catch { return "\(error)" }
        }
        #expect(field { _ = try LinearProbing.fit(rows: x, labels: Array(y.dropLast())) } == "labels")
        #expect(field { _ = try LinearProbing.fit(rows: Tensor.zeros([0, 3]), labels: []) } == "rows")
        #expect(field { _ = try LinearProbing.fit(rows: Tensor([1, 2, 3]), labels: [0, 1, 0]) } == "rows")
        var withLabel = y
        withLabel[4] = -1
        #expect(field { _ = try LinearProbing.fit(rows: x, labels: withLabel) } == "labels[4]")
        var two = ProbeOptions()
        two.classes = 2
        withLabel[4] = 2
        #expect(field { _ = try LinearProbing.fit(rows: x, labels: withLabel, options: two) } == "labels[4]")
        two.testFraction = 1
        #expect(field { _ = try LinearProbing.fit(rows: x, labels: y, options: two) } == "testFraction")
        #expect(field { _ = try SparseProbing.fit(rows: x, labels: y, ks: [4]) } == "k")
        #expect(field { _ = try SparseProbing.fit(rows: x, labels: y, ks: [0]) } == "k")
        #expect(field { _ = try SparseProbing.fit(rows: x, labels: y, ks: []) } == "ks")
        #expect(field { _ = try LayerProbing.fit(layers: [], labels: y) } == "layers")
        #expect(field { _ = try LayerProbing.fit(layers: [("L3", Tensor.zeros([9, 3]))], labels: y) } == "L3: labels")
        let message = ProbeError.invalid(field: "k", value: "4", allowed: "1...3").description
        #expect(message.contains("'k'") && message.contains("4") && message.contains("1...3"))
    }
}

@Suite struct SparseProbeTests {
    @Test func findsThePlantedNeurons() throws {
        let (x, y) = probeData(rows: 300, features: 40, classes: 2, informative: [7, 23, 31], shift: 3, seed: 6)
        let results = try SparseProbing.fit(rows: x, labels: y, ks: [1, 3, 10])
        #expect(results.map(\.k) == [1, 3, 10])
        #expect(Set(results[1].neurons) == [7, 23, 31])
        #expect([7, 23, 31].contains(results[0].neurons[0]))
        #expect(Array(results[2].neurons.prefix(3)).sorted() == [7, 23, 31])
        #expect(results[1].result.testAccuracy >= 0.9)
        #expect(results[1].result.testAccuracy >= results[0].result.testAccuracy)
        #expect(results[1].result.probe.weight.shape == [3, 2])
        // Every k uses the same split.
        #expect(results[0].result.testRows == results[2].result.testRows)
    }

    @Test func rankingIsDeterministicAndUsesTrainingRowsOnly() throws {
        let (x, y) = probeData(rows: 100, features: 10, classes: 3, informative: [4], shift: 4, seed: 7)
        let a = try SparseProbing.fit(rows: x, labels: y, ks: [2]), b = try SparseProbing.fit(rows: x, labels: y, ks: [2])
        #expect(a[0].neurons == b[0].neurons && a[0].neurons[0] == 4)
        #expect(a[0].result.probe.weight.scalars == b[0].result.probe.weight.scalars)
        // Flipping every test label does not change the ranking.
        var flipped = y
        for r in a[0].result.testRows { flipped[r] = (y[r] + 1) % 3 }
        var options = ProbeOptions()
        options.classes = 3
        let ranking = SparseProbing.rankNeurons(rows: x, labels: y, trainRows: a[0].result.trainRows, classes: 3).map(\.neuron)
        #expect(SparseProbing.rankNeurons(rows: x, labels: flipped, trainRows: a[0].result.trainRows, classes: 3).map(\.neuron) == ranking)
        #expect(try SparseProbing.fit(rows: x, labels: flipped, ks: [2], options: options)[0].neurons == a[0].neurons)
    }
}

@Suite struct LayerProbeTests {
    @Test func accuracyRisesWhereTheLabelIsWrittenAndThePlotHasOnePointPerLayer() throws {
        let (early, y) = probeData(rows: 200, features: 6, classes: 2, informative: [], shift: 0, seed: 8)
        let (late, _) = probeData(rows: 200, features: 6, classes: 2, informative: [], shift: 0, seed: 9)
        // Layer 2 carries the label in neuron 0; layer 3 in neurons 0 and 1.
        var carrying = late.scalars, stronger = late.scalars
        for i in 0..<200 {
            carrying[i * 6] += 6 * (Float(y[i]) - 0.5)
            stronger[i * 6] += 6 * (Float(y[i]) - 0.5)
            stronger[i * 6 + 1] -= 6 * (Float(y[i]) - 0.5)
        }
        let layers = [("0", early), ("1", late), ("2", Tensor(shape: [200, 6], values: carrying)), ("3", Tensor(shape: [200, 6], values: stronger))]
        let results = try LayerProbing.fit(layers: layers, labels: y)
        #expect(results.map(\.layer) == ["0", "1", "2", "3"])
        #expect(results[0].testAccuracy < 0.7 && results[1].testAccuracy < 0.7)
        #expect(results[2].testAccuracy > 0.9 && results[3].testAccuracy > 0.95)
        let svg = SVGPlot.probeAccuracyByLayer(results)
        #expect(svg.components(separatedBy: "<circle class=\"train\"").count - 1 == 4)
        #expect(svg.components(separatedBy: "<circle class=\"test\"").count - 1 == 4)
        #expect(svg.components(separatedBy: "<polyline").count - 1 == 2)
        #expect(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>"))
    }

    @Test func rowsFromExportedActivations() throws {
        let items: [String: SafeTensorsWriter.Item] = [
            "prompt_0/blocks.0.hook_resid_post": .float(Tensor(shape: [3, 2], values: [1, 2, 3, 4, 5, 6])),
            "prompt_1/blocks.0.hook_resid_post": .float(Tensor(shape: [2, 2], values: [7, 8, 9, 10])),
        ]
        let last = try LayerProbing.rows(from: items, site: "blocks.0.hook_resid_post", prompts: 2)
        #expect(last.shape == [2, 2] && last.scalars == [5, 6, 9, 10])
        let first = try LayerProbing.rows(from: items, site: "blocks.0.hook_resid_post", prompts: 2, position: 0)
        #expect(first.scalars == [1, 2, 7, 8])
        #expect(throws: ProbeError.self) { try LayerProbing.rows(from: items, site: "blocks.0.hook_resid_post", prompts: 2, position: 2) }
        #expect(throws: ProbeError.self) { try LayerProbing.rows(from: items, site: "blocks.1.hook_resid_post", prompts: 2) }
        #expect(throws: ProbeError.self) { try LayerProbing.rows(from: items, site: "blocks.0.hook_resid_post", prompts: 3) }
    }
}
