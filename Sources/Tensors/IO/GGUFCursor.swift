/// Bounds-checked little-endian reads over the bytes of a GGUF file. Every read names its field,
/// so a file that ends early throws `truncated` with the field and the offset, and no length read
/// from the file is trusted before it is compared with the bytes that are left.
struct GGUFCursor {
    let base: UnsafeRawPointer?
    let count: Int
    let path: String
    private(set) var offset = 0

    init(base: UnsafeRawPointer?, count: Int, path: String) {
        self.base = base
        self.count = count
        self.path = path
    }

    /// Bytes after the current offset.
    var remaining: Int { count - offset }

    /// An error about this file.
    func error(_ problem: GGUFError.Problem) -> GGUFError { GGUFError(path: path, problem) }

    /// Throws `truncated` unless `bytes` more bytes follow.
    func need(_ bytes: Int, _ field: @autoclosure () -> String) throws {
        guard bytes <= remaining else {
            throw error(.truncated(field: field(), offset: offset, needed: bytes, fileSize: count))
        }
    }

    /// Reads one little-endian integer.
    mutating func read<T: FixedWidthInteger>(_: T.Type, _ field: @autoclosure () -> String) throws -> T {
        let size = MemoryLayout<T>.size
        try need(size, field())
        let value = T(littleEndian: base!.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += size
        return value
    }

    /// Reads a GGUF string: a UINT64 byte length and that many bytes of UTF-8 (invalid sequences
    /// become U+FFFD).
    mutating func string(_ field: @autoclosure () -> String) throws -> String {
        let start = offset
        let length = try read(UInt64.self, "length of \(field())")
        guard length <= UInt64(remaining) else {
            throw error(.stringPastEnd(field: field(), offset: start, length: length, available: remaining))
        }
        let n = Int(length)
        let text = String(decoding: UnsafeRawBufferPointer(start: base! + offset, count: n), as: UTF8.self)
        offset += n
        return text
    }

    /// Reads a UINT64 count of items that take at least `minimumSize` bytes each, and refuses a
    /// count whose items cannot fit in the bytes that are left.
    mutating func count(_ field: @autoclosure () -> String, minimumSize: Int) throws -> Int {
        let start = offset
        let value = try read(UInt64.self, field())
        let limit = remaining / Swift.max(minimumSize, 1)
        guard value <= UInt64(limit) else {
            throw error(.countTooLarge(field: field(), offset: start, count: value, limit: limit))
        }
        return Int(value)
    }
}
