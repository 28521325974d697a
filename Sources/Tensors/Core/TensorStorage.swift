import Foundation

import CKernels

/// Keeps freed large buffers in the C heap instead of returning them to the kernel, so that a
/// buffer of the same size allocated again (the next activation, the next gradient) does not pay
/// for page faults and zero-filling. Applied once, on the first allocation.
private let mallocTuning: Void = ik_tune_malloc()

/// The memory behind one or more tensors: a 64-byte-aligned buffer of Float32 values.
///
/// Storage is shared between views (reshape, transpose, slices) and between copies of a `Tensor`
/// value; a tensor that is about to be written checks `isKnownUniquelyReferenced` and copies
/// first (copy-on-write). Storage may also borrow memory owned by someone else (a memory-mapped
/// safetensors file); `owner` keeps that memory alive.
public final class TensorStorage: @unchecked Sendable {
    /// First element.
    public let pointer: UnsafeMutablePointer<Float>
    /// Number of Float32 elements.
    public let count: Int
    /// Keeps borrowed memory alive; `nil` when this storage owns its buffer.
    let owner: AnyObject?

    /// Allocates uninitialised storage for `count` elements.
    init(uninitializedCount count: Int) {
        _ = mallocTuning
        var raw: UnsafeMutableRawPointer?
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        let status = posix_memalign(&raw, 64, bytes)
        precondition(status == 0 && raw != nil, "out of memory allocating \(bytes) bytes")
        self.pointer = raw!.bindMemory(to: Float.self, capacity: max(count, 1))
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
        if owner == nil { free(pointer) }
    }
}
