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

    /// An empty cache for `layers` layers of width `width` each.
    public init(layers: Int, batchSize: Int, capacity: Int, width: Int) {
        self.capacity = capacity
        self.batchSize = batchSize
        keys = (0..<layers).map { _ in Tensor.zeros([batchSize, capacity, width]) }
        values = (0..<layers).map { _ in Tensor.zeros([batchSize, capacity, width]) }
    }

    /// Appends `k` and `v` (B, S_new, width) at layer `layer` and returns the keys and values of
    /// every token so far (views, B × (length + S_new) × width). Call `advance` once all layers
    /// have appended.
    public func append(layer: Int, keys k: Tensor, values v: Tensor) throws -> (keys: Tensor, values: Tensor) {
        let newTokens = k.shape[1]
        guard length + newTokens <= capacity else {
            throw ModelError.invalidInput("the key/value cache holds \(capacity) tokens; \(length + newTokens) requested")
        }
        write(k, into: keys[layer])
        write(v, into: values[layer])
        let total = length + newTokens
        return (keys[layer].narrowed(1, start: 0, length: total), values[layer].narrowed(1, start: 0, length: total))
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
