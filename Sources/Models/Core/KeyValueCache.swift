import Tensors

/// Keys and values of the tokens a decoder has already seen, per layer, preallocated to a
/// capacity so that appending a token copies only that token.
///
/// Keys are stored after rotary embeddings. Shapes: (B, capacity, kv_heads · head_dim).
public final class KeyValueCache {
    private var keys: [Tensor]
    private var values: [Tensor]
    /// Tokens stored so far.
    public private(set) var length: Int = 0
    /// Most tokens the cache can hold.
    public let capacity: Int
    /// Sequences in the batch.
    public let batchSize: Int
    /// Width of one token's keys (and values) in every layer.
    public let width: Int

    /// An empty cache for `layers` layers of width `width` each.
    public init(layers: Int, batchSize: Int, capacity: Int, width: Int) {
        self.capacity = capacity
        self.batchSize = batchSize
        self.width = width
        keys = (0..<layers).map { _ in Tensor.zeros([batchSize, capacity, width]) }
        values = (0..<layers).map { _ in Tensor.zeros([batchSize, capacity, width]) }
    }

    /// Appends `k` and `v` (B, S_new, width) at layer `layer` and returns the keys and values of
    /// every token so far (views, B × (length + S_new) × width). Call `advance` once all layers
    /// have appended. Throws `ModelError.cacheMismatch` naming the layer when the layer, the
    /// batch size, the width or the number of tokens does not fit the cache.
    public func append(layer: Int, keys k: Tensor, values v: Tensor) throws -> (keys: Tensor, values: Tensor) {
        try check(layer: layer, keys: k, values: v)
        let newTokens = k.shape[1]
        write(k, into: keys[layer])
        write(v, into: values[layer])
        let total = length + newTokens
        return (keys[layer].narrowed(1, start: 0, length: total), values[layer].narrowed(1, start: 0, length: total))
    }

    /// Throws unless `k` and `v` are (batchSize, S_new, width) with room for S_new more tokens.
    private func check(layer: Int, keys k: Tensor, values v: Tensor) throws {
        func mismatch(_ field: String, _ expected: String, _ actual: String) -> ModelError {
            .cacheMismatch(layer: layer, field: field, expected: expected, actual: actual)
        }
        guard keys.indices.contains(layer) else { throw mismatch("layer", "0..<\(keys.count)", "\(layer)") }
        guard k.rank == 3 else { throw mismatch("keys shape", "(B, S, width) = (\(batchSize), S, \(width))", "\(k.shape)") }
        guard v.shape == k.shape else { throw mismatch("values shape", "the keys shape \(k.shape)", "\(v.shape)") }
        guard k.shape[0] == batchSize else { throw mismatch("batch size", "\(batchSize)", "\(k.shape[0])") }
        guard k.shape[2] == width else { throw mismatch("width", "\(width)", "\(k.shape[2])") }
        guard length + k.shape[1] <= capacity else {
            throw mismatch("tokens", "at most \(capacity) (the capacity)", "\(length) cached + \(k.shape[1]) new")
        }
    }

    /// Marks `count` appended tokens as stored.
    public func advance(by count: Int) { length += count }

    /// Copies `part` to rows length..<length+S of `buffer`, in place: rows already handed out as
    /// views are never touched, so no view sees a change.
    private func write(_ part: Tensor, into buffer: Tensor) {
        let p = part.contiguous()
        let width = buffer.shape[2], newTokens = p.shape[1]
        p.withUnsafeElements { src in
            for b in 0..<batchSize {
                let dst = buffer.storage.pointer + buffer.offset + (b * capacity + length) * width
                dst.update(from: src.baseAddress! + b * newTokens * width, count: newTokens * width)
            }
        }
    }
}
