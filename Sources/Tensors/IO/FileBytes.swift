#if canImport(Glibc)
import Glibc
#endif

/// A file's bytes, memory-mapped privately (writes, if any, never reach the file), or a private
/// copy of bytes already in memory (`init(copying:name:)`), so every reader that takes a path
/// can also read a buffer.
public final class FileBytes: @unchecked Sendable {
    /// Start of the mapping (nil for an empty file).
    public let pointer: UnsafeMutableRawPointer?
    /// Size in bytes.
    public let count: Int
    /// The file's path.
    public let path: String
    /// True when `pointer` is a mapping (unmapped on release); false for an allocated copy.
    let isMapped: Bool

    /// Maps the file at `path`; throws `FileError` when it cannot be opened or mapped.
    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw FileError(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FileError(path: path, reason: String(cString: strerror(errno))) }
        if (info.st_mode & S_IFMT) == S_IFDIR { throw FileError(path: path, reason: "is a directory") }
        count = Int(info.st_size)
        isMapped = true
        if count == 0 {
            pointer = nil
            return
        }
        let mapped = mmap(nil, count, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0)
        guard let mapped, mapped != MAP_FAILED else {
            throw FileError(path: path, reason: "cannot map: \(String(cString: strerror(errno)))")
        }
        pointer = mapped
    }

    /// A private copy of `bytes`, allocated to exactly their size; `name` stands in for the path
    /// in error messages.
    public init(copying bytes: UnsafeRawBufferPointer, name: String) {
        path = name
        count = bytes.count
        isMapped = false
        guard let base = bytes.baseAddress, bytes.count > 0 else {
            pointer = nil
            return
        }
        let copy = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 16)
        copy.copyMemory(from: base, byteCount: bytes.count)
        pointer = copy
    }

    deinit {
        guard let pointer else { return }
        if isMapped { munmap(pointer, count) } else { pointer.deallocate() }
    }

    /// Runs `body` over the bytes.
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: pointer, count: count))
    }
}

/// A file could not be read or written.
public struct FileError: Error, CustomStringConvertible, Equatable {
    /// The file.
    public let path: String
    /// Why.
    public let reason: String
    /// "path: reason".
    public var description: String { "\(path): \(reason)" }
}
