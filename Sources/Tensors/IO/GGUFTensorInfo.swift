/// One tensor of a GGUF file, validated: its type, its dimensions and where its bytes are.
public struct GGUFTensorInfo: Sendable, Equatable {
    /// The tensor's name ("blk.0.attn_q.weight").
    public let name: String
    /// The ggml type of its data.
    public let type: GGMLType
    /// Dimensions fastest-first, as GGUF stores them: `ne[0]` elements are contiguous.
    public let ne: [Int]
    /// Byte offset of the data, relative to the start of the file's data section.
    public let offset: Int
    /// Bytes of data.
    public let byteCount: Int

    /// Row-major shape: `ne` reversed (a matrix with `ne = [in, out]` has shape `[out, in]`).
    public var shape: [Int] { ne.reversed() }
    /// Number of elements.
    public var elementCount: Int { ne.reduce(1, *) }
    /// Bytes of one row of `ne[0]` elements (a whole number of blocks).
    public var rowByteCount: Int { ne[0] / type.blockElements * type.blockBytes }
    /// Number of rows: the product of `ne[1...]`.
    public var rowCount: Int { ne.dropFirst().reduce(1, *) }
}

/// Checks the data layout of the tensor infos read from a header.
enum GGUFLayout {
    /// Validates sizes, alignment, bounds and overlaps; returns the infos in file order.
    static func validate(_ records: [GGUFTensorRecord], alignment: Int, dataSize: Int, path: String) throws -> [GGUFTensorInfo] {
        func fail(_ problem: GGUFError.Problem) -> GGUFError { GGUFError(path: path, problem) }
        var infos: [GGUFTensorInfo] = []
        infos.reserveCapacity(records.count)
        for r in records {
            var elements = 1
            for d in r.ne {
                let (product, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow else { throw fail(.sizeOverflow(tensor: r.name, ne: r.ne.map { UInt64($0) })) }
                elements = product
            }
            guard r.ne[0] % r.type.blockElements == 0 else {
                throw fail(.partialBlock(tensor: r.name, type: r.type, ne0: r.ne[0], blockElements: r.type.blockElements))
            }
            guard let bytes = r.type.byteCount(elements: elements) else {
                throw fail(.sizeOverflow(tensor: r.name, ne: r.ne.map { UInt64($0) }))
            }
            guard r.offset % UInt64(alignment) == 0 else {
                throw fail(.misalignedOffset(tensor: r.name, offset: r.offset, alignment: alignment))
            }
            guard r.offset <= UInt64(dataSize), bytes <= dataSize - Int(r.offset) else {
                throw fail(.dataOutOfBounds(tensor: r.name, offset: r.offset, byteCount: bytes, dataSize: dataSize))
            }
            infos.append(GGUFTensorInfo(name: r.name, type: r.type, ne: r.ne, offset: Int(r.offset), byteCount: bytes))
        }
        let sorted = infos.sorted { ($0.offset, $0.name) < ($1.offset, $1.name) }
        for (a, b) in zip(sorted, sorted.dropFirst()) where b.offset < a.offset + a.byteCount {
            throw fail(.overlappingTensors(first: a.name, second: b.name))
        }
        return infos
    }

    /// The alignment from `general.alignment` (a UINT32 power of two), or 32 when absent.
    static func alignment(_ metadata: [String: GGUFValue], path: String) throws -> Int {
        guard let value = metadata["general.alignment"] else { return 32 }
        guard case .uint32(let v) = value, v > 0, v & (v - 1) == 0 else {
            throw GGUFError(path: path, .invalidAlignment(value: "\(value.typeDescription) \(GGUFLayout.brief(value))"))
        }
        return Int(v)
    }

    /// A value in a few characters, for error messages.
    static func brief(_ value: GGUFValue) -> String {
        switch value {
        case .string(let s): return "\"\(s.prefix(40))\""
        case .array(_, let values): return "[\(values.count) elements]"
        case .float32(let v): return "\(v)"
        case .float64(let v): return "\(v)"
        case .bool(let v): return "\(v)"
        case .uint64(let v): return "\(v)"
        default: return value.intValue.map { String($0) } ?? "?"
        }
    }
}
