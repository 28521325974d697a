import Foundation
import Tensors

/// Byte-level BPE (GPT-2, Llama 3, Qwen2, SmolLM…): split out added tokens, optionally normalize
/// (NFC), pre-tokenize, map each piece's UTF-8 bytes to GPT-2's printable symbols, merge by rank,
/// look up ids. Built from a tokenizer.json (`TokenizerLoader.load(path:)`) or from GGUF
/// metadata with `tokenizer.ggml.model = gpt2` (`TokenizerLoader.load(ggufMetadata:)`).
public struct ByteLevelBPETokenizer: Tokenizer {
    struct SymbolPair: Hashable {
        let left: String
        let right: String
    }

    let vocabulary: [String: Int]
    let tokensById: [Int: String]
    /// Merge rank of each symbol pair.
    let ranks: [SymbolPair: Int]
    let preTokenizer: PreTokenizer
    /// Unicode NFC before pre-tokenizing (Qwen2's normalizer).
    let composesNFC: Bool
    /// A piece found whole in the vocabulary skips merging.
    let ignoresMerges: Bool
    let addedTokens: AddedTokenMatcher
    let specialIds: Set<Int>
    let addedIds: Set<Int>
    let template: SpecialTokenTemplate
    let unknownId: Int?
    /// One more than the largest id.
    public let vocabularySize: Int
    /// The padding id: the file's, else the first special token.
    public let paddingId: Int
    /// BOS: the GGUF key, or the tokenizer_config.json / template's first prefix token.
    public let beginningOfSequenceId: Int?
    /// EOS: the GGUF key, or the tokenizer_config.json / template's last suffix token.
    public let endOfSequenceId: Int?

    /// Byte → printable symbol (GPT-2's bytes_to_unicode).
    static var byteSymbols: [Character] { ByteSymbols.symbols }

    /// The parts of a byte-level BPE tokenizer, whatever file they come from.
    struct Parts {
        var vocabulary: [String: Int]
        /// Merges in rank order.
        var merges: [SymbolPair]
        var addedTokens: [AddedToken]
        var preTokenizer: PreTokenizer
        var composesNFC = false
        var ignoresMerges = false
        var template = SpecialTokenTemplate()
        var unknownId: Int?
        var paddingId: Int?
        var beginningOfSequenceId: Int?
        var endOfSequenceId: Int?
    }

    init(_ parts: Parts) {
        vocabulary = parts.vocabulary
        var ranks: [SymbolPair: Int] = [:]
        ranks.reserveCapacity(parts.merges.count)
        for (rank, pair) in parts.merges.enumerated() where ranks[pair] == nil { ranks[pair] = rank }
        self.ranks = ranks
        var byId = Dictionary(parts.vocabulary.map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        for t in parts.addedTokens { byId[t.id] = t.content }
        tokensById = byId
        preTokenizer = parts.preTokenizer
        composesNFC = parts.composesNFC
        ignoresMerges = parts.ignoresMerges
        addedTokens = AddedTokenMatcher(parts.addedTokens)
        specialIds = Set(parts.addedTokens.filter(\.special).map(\.id))
        addedIds = Set(parts.addedTokens.map(\.id))
        template = parts.template
        unknownId = parts.unknownId
        vocabularySize = (byId.keys.max() ?? -1) + 1
        paddingId = parts.paddingId ?? parts.addedTokens.first(where: \.special)?.id ?? 0
        beginningOfSequenceId = parts.beginningOfSequenceId
        endOfSequenceId = parts.endOfSequenceId
    }

    /// The id of a vocabulary or added token.
    public func id(of token: String) -> Int? {
        vocabulary[token] ?? addedTokens.tokens.first { $0.content == token }?.id
    }

    /// Pieces of `scalars` by GPT-2's pattern, as code-point ranges.
    public static func pretokenize(_ scalars: [Unicode.Scalar]) -> [Range<Int>] {
        GPT2Pattern.split(scalars, in: 0..<scalars.count)
    }

    /// Encodes `text`; with `addSpecialTokens` the file's BOS/EOS template is applied.
    public func encode(_ text: String, addSpecialTokens: Bool) -> Encoding {
        addedTokens.encode(text, template: addSpecialTokens ? template : nil, tokensById: tokensById) { scalars, range, out in
            let normalized = composesNFC ? NormalizedText(nfc: scalars, range: range) : NormalizedText(scalars, range: range)
            for piece in preTokenizer.split(normalized.scalars) { encodePiece(normalized, piece, into: &out) }
        }
    }

    /// Encodes the normalized code points `piece`.
    func encodePiece(_ text: NormalizedText, _ piece: Range<Int>, into out: inout Encoding) {
        var symbols: [String] = []
        var scalarOfByte: [Int] = []
        for k in piece {
            for b in String(text.scalars[k]).utf8 {
                symbols.append(ByteSymbols.symbolStrings[Int(b)])
                scalarOfByte.append(k)
            }
        }
        let whole = symbols.joined()
        let merged: [PairMerger.Symbol]
        if ignoresMerges, vocabulary[whole] != nil {
            merged = [PairMerger.Symbol(text: whole, span: 0..<symbols.count)]
        } else {
            merged = PairMerger.merge(symbols) { l, r in ranks[SymbolPair(left: l, right: r)].map(Double.init) }.symbols
        }
        for symbol in merged {
            let range = text.origin(of: scalarOfByte[symbol.span.lowerBound]..<(scalarOfByte[symbol.span.upperBound - 1] + 1))
            if let id = vocabulary[symbol.text] {
                out.append(id, symbol.text, range)
                continue
            }
            // Not in the vocabulary (a malformed merge list): one token per byte, else unknown.
            for b in symbol.span {
                guard let id = vocabulary[symbols[b]] ?? unknownId else { continue }
                out.append(id, tokensById[id] ?? symbols[b], range)
            }
        }
    }

    /// Maps byte symbols back to bytes and decodes UTF-8 (one U+FFFD per maximal invalid
    /// subpart). Added tokens decode to their text; special ones are dropped when asked.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String {
        var bytes: [UInt8] = []
        for id in ids {
            guard let token = tokensById[id] else { continue }
            if addedIds.contains(id) {
                if !(skipSpecialTokens && specialIds.contains(id)) { bytes += Array(token.utf8) }
                continue
            }
            bytes += ByteSymbols.decode(token)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
