import Tensors

/// A stream of activation rows of one width: a model's activations at a site over a corpus
/// (`SiteActivationSource`), or any other producer (synthetic data in tests).
public protocol ActivationSource: AnyObject {
    /// The width d of every row.
    var width: Int { get }
    /// The next rows (n, d) with n ≥ 1, or nil when the stream has ended.
    func nextRows() throws -> Tensor?
}

/// A bounded shuffle buffer of activation rows: filled from an `ActivationSource`, emptied by
/// random batches, so that a batch mixes rows from many windows without holding the whole
/// stream. Each row is handed out `uses` times (at random moments) before it leaves. Storage is
/// one `capacity × width` block.
public final class ActivationShuffleBuffer {
    public let width: Int, capacity: Int, uses: Int
    /// Rows held now.
    public private(set) var count = 0
    /// True once the source returned nil.
    public private(set) var sourceEnded = false
    /// Rows read from the source so far.
    public private(set) var rowsRead = 0
    private var storage: [Float]
    /// Uses left of each held row.
    private var remaining: [Int]
    private var generator: RandomGenerator
    /// Rows read from the source but not yet stored (a source's chunk may overflow the buffer).
    private var pending: Tensor?
    private var pendingOffset = 0

    /// A buffer of at most `capacity` rows of `width`, each handed out `uses` times, shuffled by `seed`.
    public init(width: Int, capacity: Int, uses: Int = 1, seed: UInt64) throws {
        guard width >= 1 else { throw SAEError.invalid(field: "width", value: "\(width)", allowed: "an integer ≥ 1") }
        guard capacity >= 1 else { throw SAEError.invalid(field: "buffer", value: "\(capacity)", allowed: "an integer ≥ 1 (rows)") }
        guard uses >= 1 else { throw SAEError.invalid(field: "uses", value: "\(uses)", allowed: "an integer ≥ 1") }
        self.width = width
        self.capacity = capacity
        self.uses = uses
        storage = [Float](repeating: 0, count: capacity * width)
        remaining = [Int](repeating: 0, count: capacity)
        generator = RandomGenerator(seed: seed)
    }

    /// Reads from `source` until the buffer is full or the source ends.
    public func fill(from source: any ActivationSource) throws {
        while count < capacity {
            if pending == nil {
                guard !sourceEnded, let rows = try source.nextRows() else { sourceEnded = true; return }
                guard rows.rank == 2, rows.shape[1] == width else {
                    throw SAEError.invalid(field: "activation rows", value: "shape \(rows.shape)", allowed: "(n, \(width))")
                }
                pending = rows.contiguous()
                pendingOffset = 0
            }
            let rows = pending!
            let n = rows.shape[0]
            let take = Swift.min(n - pendingOffset, capacity - count)
            rows.withUnsafeElements { src in
                storage.withUnsafeMutableBufferPointer { dst in
                    (dst.baseAddress! + count * width).update(from: src.baseAddress! + pendingOffset * width, count: take * width)
                }
            }
            for slot in count..<(count + take) { remaining[slot] = uses }
            count += take
            rowsRead += take
            pendingOffset += take
            if pendingOffset == n { pending = nil }
        }
    }

    /// `rows` rows drawn uniformly from the held ones; a row whose uses run out is removed (the
    /// last held row moves into its slot). Shape (rows, d); `rows` must be at most `count`.
    public func draw(_ rows: Int) -> Tensor {
        precondition(rows <= count, "draw(\(rows)) from a buffer holding \(count)")
        var out = Tensor(uninitializedShape: [rows, width])
        out.withUnsafeMutableElements { dst in
            storage.withUnsafeMutableBufferPointer { src in
                let base = src.baseAddress!
                for r in 0..<rows {
                    let slot = generator.nextInt(below: count)
                    (dst.baseAddress! + r * width).update(from: base + slot * width, count: width)
                    remaining[slot] -= 1
                    guard remaining[slot] == 0 else { continue }
                    count -= 1
                    if slot != count {
                        (base + slot * width).update(from: base + count * width, count: width)
                        remaining[slot] = remaining[count]
                    }
                }
            }
        }
        return out
    }

    /// Up to `rows` held rows chosen at random, copied and left in place (for statistics).
    public func sample(_ rows: Int) -> Tensor {
        let n = Swift.min(rows, count)
        var out = Tensor(uninitializedShape: [n, width])
        var order = Array(0..<count)
        for i in 0..<n { order.swapAt(i, i + generator.nextInt(below: count - i)) }
        out.withUnsafeMutableElements { dst in
            storage.withUnsafeBufferPointer { src in
                for r in 0..<n { (dst.baseAddress! + r * width).update(from: src.baseAddress! + order[r] * width, count: width) }
            }
        }
        return out
    }
}
