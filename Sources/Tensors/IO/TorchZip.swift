/// The entries of an uncompressed (stored) zip archive, as torch.save writes them. Only the
/// end-of-central-directory record, the central directory and the local headers are read;
/// every offset is bounds-checked against the file.
struct TorchZipArchive {
    /// One stored entry: its name and where its bytes lie in the file.
    struct Entry {
        let name: String
        let dataOffset: Int
        let size: Int
    }

    let path: String
    let bytes: UnsafeRawBufferPointer
    private(set) var entries: [String: Entry] = [:]
    private(set) var names: [String] = []

    init(path: String, bytes: UnsafeRawBufferPointer) throws {
        self.path = path
        self.bytes = bytes
        let (count, directoryOffset, directorySize) = try endOfCentralDirectory()
        guard directoryOffset <= bytes.count, directorySize <= bytes.count - directoryOffset else {
            throw TorchCheckpointError.truncatedZip(path: path, reason: "central directory [\(directoryOffset), +\(directorySize)) exceeds \(bytes.count) bytes")
        }
        var at = directoryOffset
        for _ in 0..<count {
            let entry = try centralEntry(at: &at)
            entries[entry.name] = entry
            names.append(entry.name)
        }
    }

    func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
    func u32(_ at: Int) -> Int { u16(at) | u16(at + 2) << 16 }

    func need(_ at: Int, _ count: Int, _ what: String) throws {
        guard at >= 0, count >= 0, at <= bytes.count, count <= bytes.count - at else {
            throw TorchCheckpointError.truncatedZip(path: path, reason: "\(what) at offset \(at) needs \(count) bytes, file has \(bytes.count)")
        }
    }

    /// Finds the end-of-central-directory record: (entry count, directory offset, directory size).
    func endOfCentralDirectory() throws -> (Int, Int, Int) {
        guard bytes.count >= 22 else {
            throw TorchCheckpointError.truncatedZip(path: path, reason: "\(bytes.count) bytes, need at least 22 for the end record")
        }
        var at = bytes.count - 22
        let lowest = Swift.max(0, bytes.count - 22 - 65535)
        while at >= lowest {
            if u32(at) == 0x0605_4b50 && at + 22 + u16(at + 20) == bytes.count { break }
            at -= 1
        }
        guard at >= lowest else {
            throw TorchCheckpointError.truncatedZip(path: path, reason: "no end-of-central-directory record")
        }
        let count = u16(at + 10), size = u32(at + 12), offset = u32(at + 16)
        if count == 0xFFFF { throw TorchCheckpointError.zip64Unsupported(path: path, field: "entry count") }
        if size == 0xFFFF_FFFF { throw TorchCheckpointError.zip64Unsupported(path: path, field: "central directory size") }
        if offset == 0xFFFF_FFFF { throw TorchCheckpointError.zip64Unsupported(path: path, field: "central directory offset") }
        guard u16(at + 4) == 0, u16(at + 6) == 0, u16(at + 8) == count else {
            throw TorchCheckpointError.invalidZip(path: path, reason: "multi-disk archives are not supported", offset: at)
        }
        return (count, offset, size)
    }

    /// Reads one central-directory record at `at`, advancing past it, and resolves its local header.
    func centralEntry(at: inout Int) throws -> Entry {
        try need(at, 46, "central directory record")
        guard u32(at) == 0x0201_4b50 else {
            throw TorchCheckpointError.invalidZip(path: path, reason: "bad central directory signature 0x\(String(u32(at), radix: 16))", offset: at)
        }
        let method = u16(at + 10), compressed = u32(at + 20), size = u32(at + 24)
        let nameLength = u16(at + 28), extraLength = u16(at + 30), commentLength = u16(at + 32)
        let local = u32(at + 42)
        try need(at + 46, nameLength + extraLength + commentLength, "central directory name")
        let name = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[(at + 46)..<(at + 46 + nameLength)]), as: UTF8.self)
        at += 46 + nameLength + extraLength + commentLength
        if size == 0xFFFF_FFFF || compressed == 0xFFFF_FFFF || local == 0xFFFF_FFFF {
            throw TorchCheckpointError.zip64Unsupported(path: path, field: "size or offset of '\(name)'")
        }
        guard method == 0 else { throw TorchCheckpointError.compressedEntry(name: name, method: method) }
        guard compressed == size else {
            throw TorchCheckpointError.invalidZip(path: path, reason: "stored entry '\(name)' has compressed size \(compressed) ≠ size \(size)", offset: at)
        }
        try need(local, 30, "local header of '\(name)'")
        guard u32(local) == 0x0403_4b50 else {
            throw TorchCheckpointError.invalidZip(path: path, reason: "bad local header signature for '\(name)'", offset: local)
        }
        let dataOffset = local + 30 + u16(local + 26) + u16(local + 28)
        try need(dataOffset, size, "data of '\(name)'")
        return Entry(name: name, dataOffset: dataOffset, size: size)
    }

    /// The bytes of the entry called `name`.
    func data(_ name: String) throws -> UnsafeRawBufferPointer {
        guard let e = entries[name] else { throw TorchCheckpointError.missingEntry(name: name) }
        return UnsafeRawBufferPointer(rebasing: bytes[e.dataOffset..<(e.dataOffset + e.size)])
    }
}
