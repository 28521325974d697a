import Foundation

extension SentencePieceBPETokenizer {
    /// Initial symbols of a word, each with the normalized code point it came from.
    func initialSymbols(_ text: NormalizedText, _ word: Range<Int>) -> (symbols: [String], source: [Int]) {
        var symbols: [String] = []
        var source: [Int] = []
        var previousUnknown = false
        for k in word {
            let s = String(text.scalars[k])
            guard parts.fallsBackBeforeMerging, parts.vocabulary[s] == nil else {
                symbols.append(s)
                source.append(k)
                previousUnknown = false
                continue
            }
            // Hugging Face: bytes now if all of them have tokens, else the unknown token.
            let bytes = s.utf8.map { byteTokens[Int($0)] }
            if !bytes.contains(nil) {
                for b in s.utf8 { symbols.append(SentencePieceBPETokenizer.byteToken(b)); source.append(k) }
                previousUnknown = false
            } else if let unknown = parts.unknownId, let name = tokensById[unknown] {
                if !(parts.fusesUnknown && previousUnknown) { symbols.append(name); source.append(k) }
                previousUnknown = true
            }
        }
        return (symbols, source)
    }

    /// The merge priority of a pair (lower first), nil when the pair never merges.
    func priority(_ left: String, _ right: String) -> Double? {
        switch parts.mergeOrder {
        case .ranks(let ranks): return ranks[ByteLevelBPETokenizer.SymbolPair(left: left, right: right)].map(Double.init)
        case .scores(let scores, let mergeable):
            guard let id = parts.vocabulary[left + right], id < mergeable.count, mergeable[id] else { return nil }
            return -Double(scores[id])
        }
    }

    /// Encodes the normalized code points `word`.
    func encodeWord(_ text: NormalizedText, _ word: Range<Int>, into out: inout Encoding) {
        let (symbols, source) = initialSymbols(text, word)
        let unusedMerges = !parts.unusedIds.isEmpty
        let result = PairMerger.merge(symbols, recordHistory: unusedMerges) { priority($0, $1) }
        for symbol in result.symbols {
            let range = text.origin(of: source[symbol.span.lowerBound]..<(source[symbol.span.upperBound - 1] + 1))
            for (id, token) in resolve(symbol.text, history: result.formedFrom) { out.append(id, token, range) }
        }
    }

    /// The tokens of a merged symbol: its own id; the pieces that formed it when it is an unused
    /// piece (SentencePiece's resegmentation); else its bytes as byte tokens (or unknown).
    func resolve(_ text: String, history: [String: (left: String, right: String)]) -> [(Int, String)] {
        if let id = parts.vocabulary[text] {
            guard parts.unusedIds.contains(id), let parents = history[text] else { return [(id, text)] }
            return resolve(parents.left, history: history) + resolve(parents.right, history: history)
        }
        var out: [(Int, String)] = []
        for b in text.utf8 {
            if let id = byteTokens[Int(b)] {
                out.append((id, tokensById[id] ?? SentencePieceBPETokenizer.byteToken(b)))
            } else if let unknown = parts.unknownId, !(parts.fusesUnknown && out.last?.0 == unknown) {
                out.append((unknown, tokensById[unknown] ?? ""))
            }
        }
        return out
    }

    /// Turns "▁" into spaces and byte tokens into bytes, decodes UTF-8, then strips the leading
    /// space(s) the prefix added. Added tokens decode to their text; special ones are dropped
    /// when asked.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String {
        var bytes: [UInt8] = []
        var run: [UInt8] = []
        func flush() {
            guard !run.isEmpty else { return }
            if parts.replacesInvalidBytesPerByte, String(validating: run, as: UTF8.self) == nil {
                bytes += Array(String(repeating: "\u{FFFD}", count: run.count).utf8)
            } else {
                bytes += run
            }
            run.removeAll()
        }
        for id in ids {
            guard let token = tokensById[id] else { continue }
            if skipSpecialTokens && specialIds.contains(id) { continue }
            if let b = parts.byteIds[id], !addedIds.contains(id) { run.append(b); continue }
            flush()
            bytes += Array((addedIds.contains(id) ? token : token.replacingOccurrences(of: "▁", with: " ")).utf8)
        }
        flush()
        var text = Substring(String(decoding: bytes, as: UTF8.self))
        for _ in 0..<parts.stripsLeadingSpaces where text.first == " " { text = text.dropFirst() }
        return String(text)
    }
}
