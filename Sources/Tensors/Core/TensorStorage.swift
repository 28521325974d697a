import CKernels

/// The memory behind one or more tensors: a 64-byte-aligned buffer of Float32 values.
///
/// Storage is shared between views (reshape, transpose, slices) and between copies of a `Tensor`
/// value; a tensor that is about to be written checks `isKnownUniquelyReferenced` and copies
/// first (copy-on-write).
///
/// Storage may instead borrow memory owned by someone else: the pages of a memory-mapped
/// safetensors or GGUF file holding little-endian Float32 data. `owner` (the mapping) stays alive
/// as long as any storage borrows from it, borrowed memory is never handed to the buffer cache,
/// and it is never written: the first in-place write to a tensor over borrowed memory copies it
/// into an owned buffer (`Tensor.withUnsafeMutableElements`), so two tensors read from the same
/// bytes never see each other's updates and the file's pages stay clean and shared. (The mapping
/// is private besides, so nothing could reach the file even if they were written.)
///
/// Owned buffers come from `BufferCache`: the next activation or gradient of the same size
/// reuses a freed buffer instead of asking the system for fresh memory.
public final class TensorStorage: @unchecked Sendable {
    /// First element.
    public let pointer: UnsafeMutablePointer<Float>
    /// Number of Float32 elements.
    public let count: Int
    /// Keeps borrowed memory alive; `nil` when this storage owns its buffer.
    let owner: AnyObject?

    /// True when the memory belongs to `owner` (a mapped file) rather than to this storage.
    public var isBorrowed: Bool { owner != nil }

    /// Allocates uninitialised storage for `count` elements.
    init(uninitializedCount count: Int) {
        guard let raw = ik_buffer_allocate(Swift.max(count, 1) * MemoryLayout<Float>.stride) else {
            preconditionFailure("out of memory allocating \(count) floats")
        }
        self.pointer = raw.bindMemory(to: Float.self, capacity: Swift.max(count, 1))
        self.count = count
        self.owner = nil
    }

    /// Wraps memory owned by `owner` (which must outlive every reader of the pointer).
    init(borrowing pointer: UnsafeMutablePointer<Float>, count: Int, owner: AnyObject) {
        self.pointer = pointer
        self.count = count
        self.owner = owner
    }

    deinit {
        if owner == nil { ik_buffer_release(pointer, Swift.max(count, 1) * MemoryLayout<Float>.stride) }
    }
}

/// Recycles freed tensor buffers by exact size (up to 256 buffers and a byte capacity, the
/// oldest evicted first), so that repeated forward passes reuse memory without page faults.
/// The capacity is 128 MiB unless the environment variable `INTERVENE_BUFFER_CACHE_MIB` (whole
/// MiB; 0 turns the cache off) or `setCapacity` says otherwise; buffers of 1 MiB or more are
/// pages of their own, so whatever the cache lets go of (eviction, `purge`) leaves the process.
public enum BufferCache {
    /// Returns every idle buffer to the system.
    public static func purge() { ik_buffer_purge() }

    /// Bytes currently idle in the cache.
    public static var idleBytes: Int { Int(ik_buffer_idle_bytes()) }

    /// Whether an idle buffer of exactly `bytes` is cached for this thread to reuse.
    public static func holds(bytes: Int) -> Bool { ik_buffer_holds(bytes) != 0 }

    /// Sets the most bytes kept idle, evicting the oldest idle buffers beyond it.
    public static func setCapacity(bytes: Int) { ik_buffer_set_capacity(Swift.max(bytes, 0)) }

    /// The most bytes kept idle.
    public static var capacity: Int { Int(ik_buffer_capacity()) }
}
