import Foundation
import Tensors

/// BERT's WordPiece tokenizer: BertNormalizer (clean text, space around CJK ideographs, strip
/// accents, lowercase), split on whitespace and punctuation, greedy longest-match-first word
/// pieces with a "##" continuation prefix, then "[CLS] … [SEP]".
///
/// Offsets are code-point positions in the original text: every normalised character remembers
/// the original character it came from.
public struct WordPieceTokenizer: Tokenizer {
    let vocabulary: [String: Int]
    let tokensById: [Int: String]
    /// One more than the largest id.
    public let vocabularySize: Int
    let unknownToken: String
    let continuationPrefix: String
    let maximumCharactersPerWord: Int
    let lowercase: Bool
    let stripAccents: Bool
    let cleanText: Bool
    let handleChineseCharacters: Bool
    let classifierId: Int?
    let separatorId: Int?
    let specialIds: Set<Int>
    public let paddingId: Int

    init(json: JSONValue, path: String) throws {
        let model = json["model"]!.objectValue!
        vocabulary = try TokenizerLoader.vocabulary(model, path: path)
        unknownToken = model["unk_token"]?.stringValue ?? "[UNK]"
        continuationPrefix = model["continuing_subword_prefix"]?.stringValue ?? "##"
        maximumCharactersPerWord = model["max_input_chars_per_word"]?.intValue ?? 100
        let normalizer = json["normalizer"]
        if let normalizer, !normalizer.isNull {
            let type = normalizer["type"]?.stringValue ?? "(none)"
            guard type == "BertNormalizer" else {
                throw TokenizerError.unsupported(path: path, field: "normalizer.type", value: type, supported: "BertNormalizer")
            }
            lowercase = normalizer["lowercase"]?.boolValue ?? true
            stripAccents = normalizer["strip_accents"]?.boolValue ?? lowercase
            cleanText = normalizer["clean_text"]?.boolValue ?? true
            handleChineseCharacters = normalizer["handle_chinese_chars"]?.boolValue ?? true
        } else {
            lowercase = false
            stripAccents = false
            cleanText = false
            handleChineseCharacters = false
        }
        if let pre = json["pre_tokenizer"], !pre.isNull, let type = pre["type"]?.stringValue, type != "BertPreTokenizer" {
            throw TokenizerError.unsupported(path: path, field: "pre_tokenizer.type", value: type, supported: "BertPreTokenizer")
        }
        let added = try TokenizerLoader.addedTokens(json, path: path)
        var byId = Dictionary(vocabulary.map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        for t in added { byId[t.id] = t.content }
        tokensById = byId
        vocabularySize = (byId.keys.max() ?? -1) + 1
        specialIds = Set(added.filter(\.special).map(\.id))
        classifierId = vocabulary["[CLS]"]
        separatorId = vocabulary["[SEP]"]
        paddingId = vocabulary["[PAD]"] ?? 0
    }


    public func id(of token: String) -> Int? { vocabulary[token] }

    static func isChineseCharacter(_ v: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(v) || (0x3400...0x4DBF).contains(v) || (0x20000...0x2A6DF).contains(v)
            || (0x2A700...0x2B73F).contains(v) || (0x2B740...0x2B81F).contains(v) || (0x2B820...0x2CEAF).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0x2F800...0x2FA1F).contains(v)
    }

    static func isControl(_ s: Unicode.Scalar) -> Bool {
        if s == "\t" || s == "\n" || s == "\r" { return false }
        switch s.properties.generalCategory {
        case .control, .format, .unassigned, .privateUse, .surrogate: return true
        default: return false
        }
    }

    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) { return true }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
             .finalPunctuation, .otherPunctuation: return true
        default: return false
        }
    }

    /// Normalised scalars, each with the index of the original code point it came from.
    func normalize(_ text: String) -> [(scalar: Unicode.Scalar, origin: Int)] {
        var out: [(Unicode.Scalar, Int)] = []
        for (index, s) in text.unicodeScalars.enumerated() {
            if cleanText {
                if s.value == 0 || s.value == 0xFFFD || WordPieceTokenizer.isControl(s) { continue }
                if s.properties.isWhitespace { out.append((" ", index)); continue }
            }
            if handleChineseCharacters && WordPieceTokenizer.isChineseCharacter(s.value) {
                out.append((" ", index))
                out.append((s, index))
                out.append((" ", index))
                continue
            }
            var pieces: [Unicode.Scalar] = [s]
            if stripAccents {
                pieces = Array(String(s).decomposedStringWithCanonicalMapping.unicodeScalars)
                    .filter { $0.properties.generalCategory != .nonspacingMark }
            }
            if lowercase {
                pieces = pieces.flatMap { Array($0.properties.lowercaseMapping.unicodeScalars) }
            }
            for p in pieces { out.append((p, index)) }
        }
        return out
    }

    public func encode(_ text: String, addSpecialTokens: Bool) -> Encoding {
        let normalized = normalize(text)
        var out = Encoding()
        if addSpecialTokens, let cls = classifierId {
            out.ids.append(cls)
            out.tokens.append("[CLS]")
            out.offsets.append(0..<0)
        }
        // Words: runs of non-space, non-punctuation scalars; each punctuation mark alone.
        var word: [(scalar: Unicode.Scalar, origin: Int)] = []
        func flush() {
            if !word.isEmpty { encodeWord(word, into: &out) }
            word.removeAll()
        }
        for item in normalized {
            if item.scalar.properties.isWhitespace {
                flush()
            } else if WordPieceTokenizer.isPunctuation(item.scalar) {
                flush()
                word = [item]
                flush()
            } else {
                word.append(item)
            }
        }
        flush()
        if addSpecialTokens, let sep = separatorId {
            out.ids.append(sep)
            out.tokens.append("[SEP]")
            out.offsets.append(0..<0)
        }
        return out
    }

    /// Greedy longest-match-first pieces of one word; the whole word is [UNK] if any part fails.
    func encodeWord(_ word: [(scalar: Unicode.Scalar, origin: Int)], into out: inout Encoding) {
        let span = word.first!.origin..<(word.last!.origin + 1)
        let unknown = { (out: inout Encoding) in
            out.ids.append(self.vocabulary[self.unknownToken] ?? 0)
            out.tokens.append(self.unknownToken)
            out.offsets.append(span)
        }
        guard word.count <= maximumCharactersPerWord else { unknown(&out); return }
        var pieces: [(String, Int, Range<Int>)] = []
        var start = 0
        while start < word.count {
            var end = word.count
            var found: (String, Int)?
            while start < end {
                var candidate = String(String.UnicodeScalarView(word[start..<end].map(\.scalar)))
                if start > 0 { candidate = continuationPrefix + candidate }
                if let id = vocabulary[candidate] {
                    found = (candidate, id)
                    break
                }
                end -= 1
            }
            guard let (token, id) = found else { unknown(&out); return }
            pieces.append((token, id, word[start].origin..<(word[end - 1].origin + 1)))
            start = end
        }
        for (token, id, range) in pieces {
            out.ids.append(id)
            out.tokens.append(token)
            out.offsets.append(range)
        }
    }

    public func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String {
        var text = ""
        for id in ids {
            guard let token = tokensById[id] else { continue }
            if skipSpecialTokens && (specialIds.contains(id) || id == classifierId || id == separatorId || id == paddingId) { continue }
            if token.hasPrefix(continuationPrefix) {
                text += token.dropFirst(continuationPrefix.count)
            } else {
                if !text.isEmpty { text += " " }
                text += token
            }
        }
        return text
    }
}
