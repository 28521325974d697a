import Models
import Tensors

/// Identifies a model by its type, parameter names, shapes and values, so that a bundle made
/// for one model is refused by another. A 64-bit hash over the parameter bytes (8 bytes at a
/// time), written "intervene-fp1:<16 hex digits>".
public enum ModelFingerprint {
    public static func of(_ model: any HookableModel) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ v: UInt64) {
            h ^= v
            h = h &* 0x100_0000_01b3
            h ^= h >> 29
        }
        for byte in model.modelType.utf8 { mix(UInt64(byte)) }
        var seen = Set<ObjectIdentifier>()
        for (key, p) in model.namedParameters.sorted(by: { $0.key < $1.key }) where seen.insert(ObjectIdentifier(p)).inserted {
            for byte in key.utf8 { mix(UInt64(byte)) }
            for d in p.shape { mix(UInt64(d)) }
            p.value.withUnsafeElements { values in
                let raw = UnsafeRawBufferPointer(values)
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
        }
        let hex = String(h, radix: 16)
        return "intervene-fp1:" + String(repeating: "0", count: 16 - hex.count) + hex
    }
}
