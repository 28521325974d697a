/// GPT-2's reversible map between bytes and printable characters ("bytes_to_unicode"), used by
/// byte-level BPE vocabularies: bytes 0x21–0x7E, 0xA1–0xAC and 0xAE–0xFF stand for themselves,
/// the other 68 bytes map in order to U+0100…, so a space is "Ġ" and a newline "Ċ".
enum ByteSymbols {
    /// Byte → printable symbol.
    static let symbols: [Character] = {
        func printable(_ b: Int) -> Bool { (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b) }
        var out: [Character] = []
        var extra = 0
        for b in 0..<256 {
            if printable(b) {
                out.append(Character(Unicode.Scalar(UInt8(b))))
            } else {
                out.append(Character(Unicode.Scalar(UInt32(256 + extra))!))
                extra += 1
            }
        }
        return out
    }()

    /// Byte → printable symbol, as one-character strings (the initial BPE symbols).
    static let symbolStrings: [String] = symbols.map(String.init)

    /// Printable symbol → byte.
    static let bytes: [Character: UInt8] = {
        Dictionary(uniqueKeysWithValues: symbols.enumerated().map { ($1, UInt8($0)) })
    }()

    /// The bytes a vocabulary token stands for: each character's byte, or the token's own UTF-8
    /// when some character is not a byte symbol (as Hugging Face's ByteLevel decoder does).
    static func decode(_ token: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(token.count)
        for ch in token {
            guard let b = bytes[ch] else { return Array(token.utf8) }
            out.append(b)
        }
        return out
    }
}
