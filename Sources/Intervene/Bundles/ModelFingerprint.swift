import Models
import Tensors

/// Identifies a model by its type, parameter names, shapes and values, so that a bundle made
/// for one model is refused by another. A 64-bit hash over the parameter bytes (8 bytes at a
/// time), written "intervene-fp1:<16 hex digits>".
///
/// The values hashed are the Float32 ones, so a GGUF model loaded with its weights kept in
/// quantized blocks and the same file loaded with `--dequantize` have one fingerprint (bundles
/// carry over). A quantized matrix is decoded a tile of rows at a time into one reused buffer
/// (`tileElements` floats), never as a whole Float32 copy: memory stays that of the model.
public enum ModelFingerprint {
    /// Floats decoded per tile of a quantized matrix (256 KiB).
    static let tileElements = 65_536

    public static func of(_ model: any HookableModel) -> String {
        var hash = FingerprintHash()
        for byte in model.modelType.utf8 { hash.mix(UInt64(byte)) }
        var seen = Set<ObjectIdentifier>()
        var tile: [Float] = []
        for (key, p) in model.namedParameters.sorted(by: { $0.key < $1.key }) where seen.insert(ObjectIdentifier(p)).inserted {
            for byte in key.utf8 { hash.mix(UInt64(byte)) }
            for d in p.shape { hash.mix(UInt64(d)) }
            if let matrix = p.quantized {
                hash.absorb(dequantizing: matrix, tile: &tile)
            } else {
                p.value.withUnsafeElements { hash.absorb(UnsafeRawBufferPointer($0)) }
            }
        }
        let hex = String(hash.state, radix: 16)
        return "intervene-fp1:" + String(repeating: "0", count: 16 - hex.count) + hex
    }
}

/// The fingerprint's running hash: FNV-1a's offset and prime with an extra xor-shift per word.
private struct FingerprintHash {
    var state: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func mix(_ v: UInt64) {
        state ^= v
        state = state &* 0x100_0000_01b3
        state ^= state >> 29
    }

    /// Mixes `raw` as little-endian 8-byte words, then each byte left over singly. Absorbing a
    /// buffer in pieces equals absorbing it whole when every piece but the last is a multiple
    /// of 8 bytes.
    mutating func absorb(_ raw: UnsafeRawBufferPointer) {
        var i = 0
        while i + 8 <= raw.count {
            mix(raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            i += 8
        }
        while i < raw.count {
            mix(UInt64(raw[i]))
            i += 1
        }
    }

    /// Absorbs the Float32 values of `matrix` (rows × columns, row-major, bit for bit those of
    /// `matrix.dequantized()`), decoding an even number of rows at a time into `tile` so that
    /// every tile but the last is whole 8-byte words.
    mutating func absorb(dequantizing matrix: QuantizedMatrix, tile: inout [Float]) {
        let columns = matrix.columns
        guard matrix.rows > 0, columns > 0 else { return }
        let rowsPerTile = Swift.max(2, ModelFingerprint.tileElements / columns / 2 * 2)
        if tile.count < rowsPerTile * columns { tile = [Float](repeating: 0, count: rowsPerTile * columns) }
        var start = 0
        while start < matrix.rows {
            let count = Swift.min(rowsPerTile, matrix.rows - start)
            tile.withUnsafeMutableBufferPointer { buffer in
                matrix.dequantizeRows(start..<(start + count), into: buffer.baseAddress!)
                absorb(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[0..<(count * columns * 4)]))
            }
            start += count
        }
    }
}
