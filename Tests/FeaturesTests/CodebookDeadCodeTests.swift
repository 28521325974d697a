import Testing
import Features
import Models
import Tensors

/// Per-code selection counts and dead-code replacement (codebook-features' `replace_dead_codes`).
@Suite struct CodebookDeadCodeTests {
    let x = Tensor.randomNormal([2, 5, 4], seed: 11)

    /// A histogram of the non-negative ids.
    func histogram(_ ids: [Int], codes: Int) -> [Int] {
        var h = Array(repeating: 0, count: codes)
        for id in ids where id >= 0 { h[id] += 1 }
        return h
    }

    @Test func callsCountEverySelectionOfTheWindow() throws {
        let layer = try CodebookLayer(width: 4, codeCount: 12, k: 2, seed: 3)
        let expected = try Tensor.withoutGradients { try layer.snap(x) }.codes!.values
        _ = try Tensor.withoutGradients { try layer(x) }
        _ = try Tensor.withoutGradients { try layer(x) }
        #expect(layer.usage.calls == 2 && layer.usage.rows == 20)
        #expect(layer.usage.counts == histogram(expected + expected, codes: 12))
        #expect(layer.usage.counts.reduce(0, +) == 2 * 10 * 2)
        #expect(layer.usage.deadCodes == (0..<12).filter { !expected.contains($0) })
        #expect(!layer.usage.deadCodes.isEmpty)
        #expect(layer.usage.recentInputs?.shape == [10, 4])
        // An explicit snap is not a pass of the model: it records nothing.
        _ = try layer.snap(x)
        #expect(layer.usage.calls == 2)
        layer.resetUsage()
        #expect(layer.usage.calls == 0 && layer.usage.counts == Array(repeating: 0, count: 12) && layer.usage.deadCodes.isEmpty)
    }

    @Test func deadCodesTakeRowsOfTheRecentInputs() throws {
        let layer = try CodebookLayer(width: 4, codeCount: 12, k: 1, seed: 3)
        let before = layer.codes.value.scalars
        _ = try Tensor.withoutGradients { try layer(x) }
        let dead = layer.usage.deadCodes
        let inputs = try #require(layer.usage.recentInputs).scalars
        let rows = (0..<10).map { Array(inputs[($0 * 4)..<($0 * 4 + 4)]) }
        #expect(try layer.replaceDeadCodes(noise: 0, seed: 1) == dead.count)
        let after = layer.codes.value.scalars
        var used: [Int] = []
        for c in 0..<12 {
            let code = Array(after[(c * 4)..<(c * 4 + 4)])
            if dead.contains(c) {
                let row = try #require(rows.firstIndex(of: code), "code \(c) is not an input row")
                used.append(row)
            } else {
                #expect(code == Array(before[(c * 4)..<(c * 4 + 4)]))
            }
        }
        #expect(Set(used).count == used.count)  // distinct rows while there are enough
        #expect(layer.usage.calls == 0)          // a new window
        // With inner-product scores a code equal to xn scores ‖xn‖, the maximum: the row that
        // gave a code now selects it.
        let ids = try layer.snap(x).codes!.values
        for (c, row) in zip(dead, used) { #expect(ids[row] == c) }
    }

    @Test func theSeedFixesTheReplacement() throws {
        func replaced(seed: UInt64) throws -> [Float] {
            let layer = try CodebookLayer(width: 4, codeCount: 12, k: 1, seed: 3)
            _ = try Tensor.withoutGradients { try layer(x) }
            try layer.replaceDeadCodes(noise: 0.1, seed: seed)
            return layer.codes.value.scalars
        }
        #expect(try replaced(seed: 5) == replaced(seed: 5))
        #expect(try replaced(seed: 5) != replaced(seed: 6))
    }

    @Test func noiseIsRelativeToTheRowNorm() throws {
        let layer = try CodebookLayer(width: 64, codeCount: 200, k: 1, seed: 3)
        let wide = Tensor.randomNormal([1, 8, 64], seed: 2)
        _ = try Tensor.withoutGradients { try layer(wide) }
        let inputs = try #require(layer.usage.recentInputs).scalars
        let dead = layer.usage.deadCodes
        try layer.replaceDeadCodes(noise: 0.1, seed: 9)
        let codes = layer.codes.value.scalars
        // Each replaced code is within 0.1·‖x‖·(1 ± slack) of the nearest input row.
        for c in dead.prefix(8) {
            let code = Array(codes[(c * 64)..<(c * 64 + 64)])
            let (distance, norm) = (0..<8).map { r -> (Float, Float) in
                let row = Array(inputs[(r * 64)..<(r * 64 + 64)])
                return (zip(code, row).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot(), row.map { $0 * $0 }.reduce(0, +).squareRoot())
            }.min { $0.0 < $1.0 }!
            #expect(distance > 0.05 * norm && distance < 0.15 * norm)
        }
    }

    @Test func nothingChangesWhenNoCodeIsDead() throws {
        let layer = try CodebookLayer(width: 4, codeCount: 3, k: 3, seed: 3)  // every code in every row
        let before = try Tensor.withoutGradients { try layer(x) }
        let codes = layer.codes.value.scalars
        #expect(layer.usage.deadCodes.isEmpty)
        #expect(try layer.replaceDeadCodes(noise: 0.5, seed: 1) == 0)
        #expect(layer.codes.value.scalars == codes)
        #expect(try Tensor.withoutGradients { try layer(x) }.scalars == before.scalars)
        // An empty window replaces nothing either.
        layer.resetUsage()
        #expect(try layer.replaceDeadCodes(seed: 1) == 0)
        #expect(layer.codes.value.scalars == codes)
    }

    @Test func aBadNoiseIsATypedError() throws {
        let layer = try CodebookLayer(width: 4, codeCount: 3, seed: 3)
        #expect(throws: CodebookError.invalidHyperparameter(field: "noise", value: "-1.0", allowed: "a finite number ≥ 0")) {
            try layer.replaceDeadCodes(noise: -1, seed: 0)
        }
    }

    @Test func groupsCountAndReplacePerGroup() throws {
        let group = try GroupCodebookLayer(width: 8, groups: 2, codeCount: 10, k: 1, seed: 4)
        let input = Tensor.randomNormal([2, 3, 8], seed: 8)
        let snap = try Tensor.withoutGradients { try group.snap(input) }.codes!.values
        _ = try Tensor.withoutGradients { try group(input) }
        for g in 0..<2 {
            #expect(group.groups[g].usage.counts == histogram(Array(snap[(g * 6)..<(g * 6 + 6)]), codes: 10))
            #expect(group.groups[g].usage.recentInputs?.shape == [6, 4])
        }
        let dead = group.groups.map { $0.usage.deadCodes.count }.reduce(0, +)
        #expect(try group.replaceDeadCodes(noise: 0, seed: 2) == dead)
        #expect(group.groups.allSatisfy { $0.usage.calls == 0 })
    }

    @Test func aModelReplacesPerCodebookWithoutAliases() throws {
        let specs = [CodebookSpec(placement: .qkv, layers: [0], codeCount: 6, groups: 2), CodebookSpec(placement: .mlp, layers: [1], codeCount: 30)]
        let model = try CodebookModel(model: tinyGPT2(), specs: specs)
        #expect(model.distinctCodebooks.map(\.name) == ["L0.qkv.q.g0", "L0.qkv.q.g1", "L0.qkv.k.g0", "L0.qkv.k.g1",
                                                        "L0.qkv.v.g0", "L0.qkv.v.g1", "L1.mlp"])
        _ = try Tensor.withoutGradients { try model.forward(IndexTensor(shape: [1, 4], values: [1, 2, 3, 4])) }
        let dead = Dictionary(uniqueKeysWithValues: model.distinctCodebooks.map { ($0.name, $0.layer.usage.deadCodes.count) })
        #expect(dead["L1.mlp"]! >= 26)  // 4 rows select at most 4 of 30 codes
        #expect(try model.replaceDeadCodes(seed: 3) == dead)
        model.resetCodeUsage()
        #expect(model.distinctCodebooks.allSatisfy { $0.layer.usage.calls == 0 })
    }
}
