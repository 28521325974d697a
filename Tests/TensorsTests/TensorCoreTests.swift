import Testing
@testable import Tensors

@Suite struct TensorCoreTests {
    @Test func createsAndReadsValues() {
        let t = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        #expect(t.shape == [2, 3])
        #expect(t[1, 2] == 6)
        #expect(t.scalars == [1, 2, 3, 4, 5, 6])
        #expect(Tensor.eye(2).scalars == [1, 0, 0, 1])
        #expect(Tensor.arange(3).scalars == [0, 1, 2])
    }

    @Test func copiesOnWrite() {
        let a = Tensor([1, 2, 3])
        var b = a
        b.withUnsafeMutableElements { $0[0] = 9 }
        #expect(a.scalars == [1, 2, 3])
        #expect(b.scalars == [9, 2, 3])
    }

    @Test func viewsShareStorageWithoutCopying() {
        let a = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        let t = a.transposed()
        #expect(t.storage === a.storage)
        #expect(t.shape == [3, 2])
        #expect(!t.isContiguous)
        #expect(t.scalars == [1, 4, 2, 5, 3, 6])
        let r = a.reshaped([3, 2])
        #expect(r.storage === a.storage)
        let n = a.narrowed(1, start: 1, length: 2)
        #expect(n.storage === a.storage)
        #expect(n.scalars == [2, 3, 5, 6])
        #expect(a.broadcast(to: [2, 2, 3]).scalars == [1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6])
    }

    @Test func sameSeedGivesIdenticalTensors() {
        let a = Tensor.randomNormal([1000], seed: 42)
        let b = Tensor.randomNormal([1000], seed: 42)
        let c = Tensor.randomNormal([1000], seed: 43)
        #expect(a.scalars == b.scalars)
        #expect(a.scalars != c.scalars)
        var g1 = RandomGenerator(seed: 5), g2 = RandomGenerator(seed: 5)
        #expect(Tensor.randomUniform([50], using: &g1).scalars == Tensor.randomUniform([50], using: &g2).scalars)
        #expect(Tensor.randomBernoulli([50], probability: 0.3, using: &g1).scalars
                == Tensor.randomBernoulli([50], probability: 0.3, using: &g2).scalars)
        // Moments of the normal sampler are right.
        let big = Tensor.randomNormal([100_000], mean: 2, std: 3, seed: 1)
        let mean = big.mean().item
        let std = ((big - mean).square().mean().item).squareRoot()
        #expect(abs(mean - 2) < 0.05)
        #expect(abs(std - 3) < 0.05)
    }

    @Test func broadcastingArithmetic() {
        let a = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        let row = Tensor([10, 20, 30])
        let col = Tensor(shape: [2, 1], values: [100, 200])
        #expect((a + row).scalars == [11, 22, 33, 14, 25, 36])
        #expect((a * col).scalars == [100, 200, 300, 800, 1000, 1200])
        #expect((col - row).scalars == [90, 80, 70, 190, 180, 170])
        #expect((a / Tensor(scalar: 2)).scalars == [0.5, 1, 1.5, 2, 2.5, 3])
        #expect((a.transposed() + Tensor([1, 2])).scalars == [2, 6, 3, 7, 4, 8])
        let big = Tensor.randomNormal([3, 1, 4, 5], seed: 1), other = Tensor.randomNormal([2, 1, 5], seed: 2)
        let sum = big + other
        #expect(sum.shape == [3, 2, 4, 5])
        #expect(abs(sum[2, 1, 3, 4] - (big[2, 0, 3, 4] + other[1, 0, 4])) < 1e-6)
        // Views read in place (narrowed, broadcast, offset) give what their copies give.
        let fused = Tensor.randomNormal([2, 3, 12], seed: 3)
        let q = fused.narrowed(2, start: 4, length: 4), k = fused.narrowed(2, start: 8, length: 4)
        #expect((q * k).scalars == (q.contiguous() * k.contiguous()).scalars)
        let stretched = Tensor.randomNormal([1, 3, 1], seed: 4).broadcast(to: [2, 3, 4])
        #expect((q + stretched).scalars == (q.contiguous() + stretched.contiguous()).scalars)
        let columns = Tensor.randomNormal([4, 6], seed: 5).narrowed(0, start: 1, length: 2)  // offset rows
        #expect((columns - Tensor([1, 2, 3, 4, 5, 6])).scalars == (columns.contiguous() - Tensor([1, 2, 3, 4, 5, 6])).scalars)
    }

    @Test func reductions() {
        let a = Tensor(shape: [2, 3], values: [1, 5, 3, 4, 2, 6])
        #expect(a.sum().item == 21)
        #expect(a.sum(axis: 0).scalars == [5, 7, 9])
        #expect(a.sum(axis: 1, keepDims: true).shape == [2, 1])
        #expect(a.mean(axis: 1).scalars == [3, 4])
        #expect(a.max(axis: 1).scalars == [5, 6])
        #expect(a.argmax(axis: 1).values == [1, 2])
        let (values, indices) = a.topK(2)
        #expect(values.scalars == [5, 3, 6, 4])
        #expect(indices.values == [1, 2, 2, 0])
    }

    /// The heap selection (small k) agrees with a full sort, ties broken by the lower index.
    @Test func topKSelectionMatchesAFullSort() {
        var g = RandomGenerator(seed: 5)
        let n = 1000
        let values = (0..<n).map { _ in Float(g.nextInt(below: 50)) }  // many ties
        let x = Tensor(shape: [1, n], values: values)
        let sorted = (0..<n).sorted { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }
        for k in [0, 1, 7, 100, 1000] {
            #expect(x.topK(k).indices.values == Array(sorted.prefix(k)), "k = \(k)")
        }
    }

    @Test func joinAndSplit() {
        let a = Tensor(shape: [2, 2], values: [1, 2, 3, 4]), b = Tensor(shape: [2, 1], values: [5, 6])
        #expect(Tensor.concatenate([a, b], axis: 1).scalars == [1, 2, 5, 3, 4, 6])
        #expect(Tensor.stack([a, a], axis: 0).shape == [2, 2, 2])
        let parts = Tensor.arange(6).split(sizes: [1, 2, 3], axis: 0)
        #expect(parts.map(\.scalars) == [[0], [1, 2], [3, 4, 5]])
        #expect(Tensor.arange(6).chunked(3, axis: 0)[2].scalars == [4, 5])
    }

    @Test func indexing() {
        let table = Tensor(shape: [3, 2], values: [0, 1, 10, 11, 20, 21])
        #expect(Tensor.embedding(table, ids: IndexTensor([2, 0, 2])).scalars == [20, 21, 0, 1, 20, 21])
        #expect(table.indexSelect(axis: 0, indices: [1, 1]).scalars == [10, 11, 10, 11])
        let g = table.gather(axis: 1, index: IndexTensor(shape: [3, 1], values: [1, 0, 1]))
        #expect(g.scalars == [1, 10, 21])
        let s = table.scatter(axis: 1, index: IndexTensor(shape: [3, 1], values: [0, 1, 0]), source: Tensor(shape: [3, 1], values: [-1, -2, -3]))
        #expect(s.scalars == [-1, 1, 10, -2, -3, 21])
        let x = Tensor(shape: [2, 3, 1], values: [0, 1, 2, 3, 4, 5])
        #expect(x.gatherPerExample(axis: 1, indices: [[2], [0]]).scalars == [2, 3])
        #expect(x.scatteringPerExample(axis: 1, indices: [[1], [2]], values: Tensor(shape: [2, 1, 1], values: [9, 8])).scalars
                == [0, 9, 2, 3, 4, 8])
        #expect(table.maskedFill(Tensor([1, 0]), value: -5).scalars == [-5, 1, -5, 11, -5, 21])
        #expect(Tensor.where(Tensor([1, 0]), Tensor([1, 2]), Tensor([3, 4])).scalars == [1, 4])
        // The unchosen side may hold infinities (attention masks) without poisoning the result.
        #expect(Tensor.where(Tensor([1, 0, 1]), Tensor([1, 2, 3]), Tensor([-.infinity, 5, .nan])).scalars == [1, 5, 3])
    }

    @Test func noGradientModeRecordsNothing() {
        var w = Tensor.randomNormal([3], seed: 1)
        w.requiresGrad = true
        let inside = Tensor.withoutGradients { (w * w).sum() }
        #expect(!inside.requiresGrad)
        let outside = (w * w).sum()
        #expect(outside.requiresGrad)
        let frozen = Tensor.randomNormal([3], seed: 2)
        #expect(!(frozen * frozen).requiresGrad)
    }

    @Test func gradientsAccumulateOverRepeatedUse() {
        var x = Tensor([1, 2, 3])
        x.requiresGrad = true
        let y = (x * x + x + x.exp()).sum()
        y.backward()
        let expected = [Float](x.scalars.map { 2 * $0 + 1 + Foundation_exp($0) })
        expectClose(x.grad!, Tensor(expected))
        // A second backward adds to the stored gradient.
        (x * 2).sum().backward()
        expectClose(x.grad!, Tensor(expected.map { $0 + 2 }))
    }

    @Test func frozenWeightsGetNoGradientButPassOne() {
        let weight = Parameter(Tensor.randomNormal([4, 3], seed: 1), trainable: false)
        var x = Tensor.randomNormal([2, 3], seed: 2)
        x.requiresGrad = true
        let y = x.linear(weight: weight.value).sum()
        y.backward()
        #expect(weight.grad == nil)
        #expect(x.grad != nil)
        expectClose(x.grad!, Tensor.ones([2, 4]).matmul(weight.value))
    }
}

import Foundation
func Foundation_exp(_ x: Float) -> Float { Float(Foundation.exp(Double(x))) }

@Suite(.serialized) struct BufferCacheTests {
    /// Uses a size no other test allocates, so tests running in parallel cannot take the buffer.
    @Test func freedBuffersAreReusedBySize() {
        let shape = [997, 307], bytes = 997 * 307 * MemoryLayout<Float>.stride
        var first: UnsafeMutablePointer<Float>?
        do {
            let t = Tensor.zeros(shape)
            first = t.storage.pointer
        }
        #expect(BufferCache.holds(bytes: bytes))
        do {
            let again = Tensor.zeros(shape)
            #expect(again.storage.pointer == first)
            #expect(!BufferCache.holds(bytes: bytes))  // taken out while in use
        }
        #expect(BufferCache.holds(bytes: bytes))
        BufferCache.purge()
        #expect(!BufferCache.holds(bytes: bytes))
    }

    /// Storage borrowed from a mapped safetensors file is never handed to the cache; the same
    /// tensor copied into a buffer of its own is.
    @Test func borrowedFilePagesNeverEnterTheCache() throws {
        let shape = [331, 7], bytes = 331 * 7 * MemoryLayout<Float>.stride  // a size no other test allocates
        let path = NSTemporaryDirectory() + "intervene-cache-\(UUID().uuidString).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try SafeTensorsWriter.write(["w": .float(Tensor.arange(shape[0] * shape[1]).reshaped(shape))], to: path)
        BufferCache.purge()
        do {
            let mapped = try SafeTensorsFile(path: path).tensor("w")
            #expect(mapped.borrowsMemory && mapped[330, 6] == Float(331 * 7 - 1))
        }
        #expect(!BufferCache.holds(bytes: bytes))
        do {
            let copied = try SafeTensorsFile(path: path).tensor("w", copying: true)
            #expect(!copied.borrowsMemory && copied[330, 6] == Float(331 * 7 - 1))
        }
        #expect(BufferCache.holds(bytes: bytes))
        BufferCache.purge()
    }

    /// The cache keeps at most its capacity idle (128 MiB by default), a lower capacity evicts
    /// at once, and a purged large buffer leaves the process (its pages are its own).
    @Test func idleBytesStayWithinTheCapacityAndPurgesShrinkTheProcess() {
        if ProcessInfo.processInfo.environment["INTERVENE_BUFFER_CACHE_MIB"] == nil {
            #expect(BufferCache.capacity == 128 << 20)
        }
        let saved = BufferCache.capacity
        defer { BufferCache.setCapacity(bytes: saved) }
        let shape = [1009, 16_411]  // 66.2 MB, a size no other test allocates
        let bytes = shape[0] * shape[1] * MemoryLayout<Float>.stride
        do { _ = Tensor.ones(shape) }
        #expect(BufferCache.holds(bytes: bytes))
        #expect(BufferCache.idleBytes <= BufferCache.capacity)
        let before = residentMiB()
        BufferCache.setCapacity(bytes: 32 << 20)  // below the buffer: evicted now
        #expect(!BufferCache.holds(bytes: bytes))
        #expect(BufferCache.idleBytes <= 32 << 20)
        let after = residentMiB()
        #expect(before - after > 50, "resident set \(before) → \(after) MiB")
        // Above the capacity a freed buffer is not kept at all.
        do { _ = Tensor.ones(shape) }
        #expect(!BufferCache.holds(bytes: bytes))
    }

    func residentMiB() -> Double {
        let fields = (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8))?.split(separator: " ") ?? []
        return fields.count > 1 ? (Double(fields[1]) ?? 0) * 4096 / 1_048_576 : 0
    }
}
