/// A reader of one file format built on a single initializer over `FileBytes`. Conforming
/// gives `init(path:)` (the file memory-mapped) and `init(bytes:name:)` (a private copy of
/// bytes already in memory, as fuzzers and network handlers hold them), so every reader accepts
/// both sources with the same validation.
public protocol FileBytesReader {
    /// Validates (and decodes, where the format asks) the file held by `fileBytes`; throws the
    /// format's own error naming the field, the bad value and what is allowed.
    init(fileBytes: FileBytes) throws
}

extension FileBytesReader {
    /// Opens (memory-maps) and validates the file at `path`. Throws `FileError` when it cannot
    /// be read and the format's error (as `init(fileBytes:)`) when it is malformed.
    public init(path: String) throws {
        try self.init(fileBytes: try FileBytes(path: path))
    }

    /// Validates a file already in memory (the bytes are copied); `name` stands in for the path
    /// in error messages. Throws as `init(path:)` does, except `FileError`.
    public init(bytes: UnsafeRawBufferPointer, name: String) throws {
        try self.init(fileBytes: FileBytes(copying: bytes, name: name))
    }
}

extension SafeTensorsFile: FileBytesReader {}
extension GGUFFile: FileBytesReader {}
extension TorchCheckpoint: FileBytesReader {}
