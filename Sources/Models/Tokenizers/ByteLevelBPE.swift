import Foundation
import Tensors

/// GPT-2's byte-level BPE: split out special tokens, pre-tokenize with GPT-2's pattern
/// ('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+), map each
/// piece's UTF-8 bytes to printable symbols, merge by rank, look up ids.
public struct ByteLevelBPETokenizer: Tokenizer {
    let vocabulary: [String: Int]
    let tokensById: [Int: String]
    /// Merge rank of each symbol pair "left right".
    let ranks: [SymbolPair: Int]
    /// Special tokens matched literally before pre-tokenization, longest first.
    let specialTokens: [(content: String, id: Int)]
    /// The special tokens as code points, longest first (matched literally before BPE).
    let specialScalars: [(scalars: [Unicode.Scalar], id: Int)]
    /// One more than the largest id.
    public let vocabularySize: Int
    let specialIds: Set<Int>
    public let paddingId: Int

    struct SymbolPair: Hashable {
        let left: String
        let right: String
    }

    /// Byte → printable symbol (GPT-2's bytes_to_unicode).
    static let byteSymbols: [Character] = {
        var printable = Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF)
        var symbols = [Character](repeating: " ", count: 256)
        var extra = 0
        for b in 0..<256 {
            if printable.contains(b) {
                symbols[b] = Character(Unicode.Scalar(UInt32(b))!)
            } else {
                symbols[b] = Character(Unicode.Scalar(UInt32(256 + extra))!)
                extra += 1
            }
        }
        printable.removeAll()
        return symbols
    }()

    /// Printable symbol → byte.
    static let symbolBytes: [Character: UInt8] = {
        Dictionary(uniqueKeysWithValues: byteSymbols.enumerated().map { ($1, UInt8($0)) })
    }()

    init(json: JSONValue, path: String) throws {
        let model = json["model"]!.objectValue!
        if let pre = json["pre_tokenizer"], !pre.isNull {
            let type = pre["type"]?.stringValue ?? "(none)"
            guard type == "ByteLevel" else {
                throw TokenizerError.unsupported(path: path, field: "pre_tokenizer.type", value: type, supported: "ByteLevel")
            }
            if pre["add_prefix_space"]?.boolValue == true {
                throw TokenizerError.unsupported(path: path, field: "pre_tokenizer.add_prefix_space", value: "true", supported: "false")
            }
        } else {
            throw TokenizerError.unsupported(path: path, field: "pre_tokenizer", value: "null", supported: "ByteLevel (BPE without byte-level pre-tokenization is not supported)")
        }
        if let normalizer = json["normalizer"], !normalizer.isNull {
            throw TokenizerError.unsupported(path: path, field: "normalizer", value: normalizer["type"]?.stringValue ?? "?", supported: "none for byte-level BPE")
        }
        vocabulary = try TokenizerLoader.vocabulary(model, path: path)
        var merges: [SymbolPair: Int] = [:]
        guard let mergeList = model["merges"]?.arrayValue else {
            throw TokenizerError.malformed(path: path, field: "model.merges", reason: "is missing or not an array")
        }
        for (rank, entry) in mergeList.enumerated() {
            if let text = entry.stringValue {
                let parts = text.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else {
                    throw TokenizerError.malformed(path: path, field: "model.merges[\(rank)]", reason: "is not 'left right'")
                }
                merges[SymbolPair(left: String(parts[0]), right: String(parts[1]))] = merges[SymbolPair(left: String(parts[0]), right: String(parts[1]))] ?? rank
            } else if let pair = entry.arrayValue, pair.count == 2, let l = pair[0].stringValue, let r = pair[1].stringValue {
                merges[SymbolPair(left: l, right: r)] = merges[SymbolPair(left: l, right: r)] ?? rank
            } else {
                throw TokenizerError.malformed(path: path, field: "model.merges[\(rank)]", reason: "is neither 'left right' nor [left, right]")
            }
        }
        ranks = merges
        let added = try TokenizerLoader.addedTokens(json, path: path)
        var byId = Dictionary(vocabulary.map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        for t in added { byId[t.id] = t.content }
        tokensById = byId
        specialTokens = added.filter(\.special).map { ($0.content, $0.id) }.sorted { $0.content.count > $1.content.count }
        specialScalars = specialTokens.map { (Array($0.content.unicodeScalars), $0.id) }
        vocabularySize = (byId.keys.max() ?? -1) + 1
        specialIds = Set(added.filter(\.special).map(\.id))
        paddingId = added.first(where: \.special)?.id ?? 0
    }


    public func id(of token: String) -> Int? { vocabulary[token] ?? specialTokens.first { $0.content == token }?.id }

    /// Pieces of `text` by GPT-2's pattern, as code-point ranges.
    public static func pretokenize(_ scalars: [Unicode.Scalar]) -> [Range<Int>] {
        var pieces: [Range<Int>] = []
        let n = scalars.count
        func isLetter(_ s: Unicode.Scalar) -> Bool {
            switch s.properties.generalCategory {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
            default: return false
            }
        }
        func isNumber(_ s: Unicode.Scalar) -> Bool {
            switch s.properties.generalCategory {
            case .decimalNumber, .letterNumber, .otherNumber: return true
            default: return false
            }
        }
        func isSpace(_ s: Unicode.Scalar) -> Bool { s.properties.isWhitespace }
        func isOther(_ s: Unicode.Scalar) -> Bool { !isSpace(s) && !isLetter(s) && !isNumber(s) }
        func run(from start: Int, while test: (Unicode.Scalar) -> Bool) -> Int {
            var j = start
            while j < n && test(scalars[j]) { j += 1 }
            return j
        }
        var i = 0
        while i < n {
            let c = scalars[i]
            // 's 't 're 've 'm 'll 'd (case-sensitive).
            if c == "'" && i + 1 < n {
                let next = scalars[i + 1]
                if i + 2 < n, ["re", "ve", "ll"].contains(String(String.UnicodeScalarView([next, scalars[i + 2]]))) {
                    pieces.append(i..<(i + 3))
                    i += 3
                    continue
                }
                if ["s", "t", "m", "d"].contains(next) {
                    pieces.append(i..<(i + 2))
                    i += 2
                    continue
                }
            }
            // An optional space, then a run of letters, of numbers, or of other symbols.
            let body = c == " " ? i + 1 : i
            if body < n {
                let b = scalars[body]
                let test: ((Unicode.Scalar) -> Bool)? = isLetter(b) ? isLetter : (isNumber(b) ? isNumber : (isOther(b) ? isOther : nil))
                if let test {
                    let end = run(from: body, while: test)
                    pieces.append(i..<end)
                    i = end
                    continue
                }
            }
            // Whitespace not followed by a non-space (leaving the last space to the next word),
            // else the whole run.
            let end = run(from: i, while: isSpace)
            if end < n && end - i > 1 {
                pieces.append(i..<(end - 1))
                i = end - 1
            } else {
                pieces.append(i..<Swift.max(end, i + 1))
                i = Swift.max(end, i + 1)
            }
        }
        return pieces
    }

    /// BPE merges of one piece's symbols.
    func merge(_ symbols: [String]) -> [String] {
        var word = symbols
        while word.count > 1 {
            var best: (rank: Int, index: Int)?
            for i in 0..<(word.count - 1) {
                if let r = ranks[SymbolPair(left: word[i], right: word[i + 1])], best == nil || r < best!.rank {
                    best = (r, i)
                }
            }
            guard let (_, _) = best else { break }
            let pair = SymbolPair(left: word[best!.index], right: word[best!.index + 1])
            var merged: [String] = []
            var i = 0
            while i < word.count {
                if i < word.count - 1 && word[i] == pair.left && word[i + 1] == pair.right {
                    merged.append(pair.left + pair.right)
                    i += 2
                } else {
                    merged.append(word[i])
                    i += 1
                }
            }
            word = merged
        }
        return word
    }

    public func encode(_ text: String, addSpecialTokens: Bool) -> Encoding {
        let scalars = Array(text.unicodeScalars)
        var out = Encoding()
        // Split out special tokens literally.
        var segments: [(range: Range<Int>, specialId: Int?)] = []
        var start = 0, i = 0
        while i < scalars.count {
            var matched: (Int, Int)?
            for (cs, id) in specialScalars where scalars[i...].starts(with: cs) {
                matched = (cs.count, id)
                break
            }
            if let (length, id) = matched {
                if start < i { segments.append((start..<i, nil)) }
                segments.append((i..<(i + length), id))
                i += length
                start = i
            } else {
                i += 1
            }
        }
        if start < scalars.count { segments.append((start..<scalars.count, nil)) }
        for segment in segments {
            if let id = segment.specialId {
                out.ids.append(id)
                out.tokens.append(tokensById[id] ?? "")
                out.offsets.append(segment.range)
                continue
            }
            let segmentScalars = Array(scalars[segment.range])
            for piece in ByteLevelBPETokenizer.pretokenize(segmentScalars) {
                encodePiece(Array(segmentScalars[piece]), codePointBase: segment.range.lowerBound + piece.lowerBound, into: &out)
            }
        }
        return out
    }

    /// Encodes one pre-tokenized piece whose first code point is at `codePointBase`.
    func encodePiece(_ scalars: [Unicode.Scalar], codePointBase: Int, into out: inout Encoding) {
        var bytes: [UInt8] = []
        var codePointOfByte: [Int] = []
        for (k, s) in scalars.enumerated() {
            for b in String(s).utf8 {
                bytes.append(b)
                codePointOfByte.append(k)
            }
        }
        let symbols = bytes.map { String(ByteLevelBPETokenizer.byteSymbols[Int($0)]) }
        var byteStart = 0
        for token in merge(symbols) {
            let length = token.count  // one symbol character per byte
            let first = codePointOfByte[byteStart], last = codePointOfByte[byteStart + length - 1]
            out.ids.append(vocabulary[token] ?? paddingId)
            out.tokens.append(token)
            out.offsets.append((codePointBase + first)..<(codePointBase + last + 1))
            byteStart += length
        }
    }

    public func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String {
        var bytes: [UInt8] = []
        for id in ids {
            guard let token = tokensById[id] else { continue }
            if specialIds.contains(id) {
                if !skipSpecialTokens { bytes += Array(token.utf8) }
                continue
            }
            for ch in token {
                if let b = ByteLevelBPETokenizer.symbolBytes[ch] { bytes.append(b) } else { bytes += Array(String(ch).utf8) }
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
