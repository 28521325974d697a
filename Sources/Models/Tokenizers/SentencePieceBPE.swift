import Foundation
import Tensors

/// SentencePiece-style BPE with byte fallback (Llama 2, Mistral, Gemma): spaces become "▁", a
/// "▁" is prepended where the format says, pieces are merged over whole text segments, and
/// characters outside the vocabulary become their UTF-8 bytes as `<0xXX>` tokens. Decoding
/// turns "▁" back into spaces, byte tokens back into bytes, and strips the leading space the
/// prefix added.
///
/// From a tokenizer.json the merge order is the merge list's rank, as Hugging Face computes it;
/// from GGUF metadata (`tokenizer.ggml.model = llama`) it is the merged piece's score, highest
/// first, as SentencePiece and llama.cpp compute it.
public struct SentencePieceBPETokenizer: Tokenizer {
    /// How adjacent pieces are chosen for merging.
    enum MergeOrder: Sendable {
        /// Rank in the merge list, lowest first (tokenizer.json).
        case ranks([ByteLevelBPETokenizer.SymbolPair: Int])
        /// Score of the merged piece, highest first; only pieces marked mergeable can be formed.
        case scores([Float], mergeable: [Bool])
    }

    /// Which text segments (the stretches between added tokens) get a "▁" prepended.
    enum SpacePrefix: Sendable {
        case none
        /// Every segment (SentencePiece's add_dummy_prefix as llama.cpp and the Prepend normalizer apply it).
        case everySegment
        /// Only a segment at the very start of the input (Metaspace `prepend_scheme: first`).
        case firstSegment
    }

    /// The parts of a SentencePiece BPE tokenizer, whatever file they come from.
    struct Parts {
        var vocabulary: [String: Int]
        var mergeOrder: MergeOrder
        var addedTokens: [AddedToken]
        var spacePrefix = SpacePrefix.everySegment
        /// No "▁" is prepended to a segment that already starts with one (Metaspace).
        var prefixUnlessSpace = false
        /// Words are split before each "▁" (Metaspace `split: true`).
        var splitsAtSpaces = false
        /// Unknown characters become byte tokens before merging (Hugging Face) rather than after.
        var fallsBackBeforeMerging = false
        /// Ids of byte tokens (`<0xXX>`); ids of unused pieces, resegmented after merging.
        var byteIds: [Int: UInt8] = [:]
        var unusedIds: Set<Int> = []
        var unknownId: Int?
        var fusesUnknown = false
        var template = SpecialTokenTemplate()
        var stripsLeadingSpaces = 1
        /// An invalid run of byte tokens decodes to one U+FFFD per byte (Hugging Face's ByteFallback).
        var replacesInvalidBytesPerByte = false
        var paddingId: Int?
        var beginningOfSequenceId: Int?
        var endOfSequenceId: Int?
    }

    let parts: Parts
    let tokensById: [Int: String]
    /// Byte → its `<0xXX>` token id.
    let byteTokens: [Int?]
    let addedTokens: AddedTokenMatcher
    let specialIds: Set<Int>
    let addedIds: Set<Int>
    /// One more than the largest id.
    public let vocabularySize: Int
    /// The padding id: the file's, else the unknown token.
    public var paddingId: Int { parts.paddingId ?? parts.unknownId ?? 0 }
    /// BOS, as the file names it.
    public var beginningOfSequenceId: Int? { parts.beginningOfSequenceId }
    /// EOS, as the file names it.
    public var endOfSequenceId: Int? { parts.endOfSequenceId }

    init(_ parts: Parts) {
        self.parts = parts
        var byId = Dictionary(parts.vocabulary.map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        for t in parts.addedTokens { byId[t.id] = t.content }
        tokensById = byId
        var bytes = [Int?](repeating: nil, count: 256)
        for (id, b) in parts.byteIds where bytes[Int(b)] == nil { bytes[Int(b)] = id }
        byteTokens = bytes
        addedTokens = AddedTokenMatcher(parts.addedTokens)
        specialIds = Set(parts.addedTokens.filter(\.special).map(\.id))
        addedIds = Set(parts.addedTokens.map(\.id))
        vocabularySize = (byId.keys.max() ?? -1) + 1
    }

    /// The id of a vocabulary or added token.
    public func id(of token: String) -> Int? {
        parts.vocabulary[token] ?? addedTokens.tokens.first { $0.content == token }?.id
    }

    /// The "<0xXX>" spelling of a byte token.
    static func byteToken(_ b: UInt8) -> String { "<0x" + String(format: "%02X", b) + ">" }

    /// Encodes `text`; with `addSpecialTokens` the BOS/EOS the file asks for are added.
    public func encode(_ text: String, addSpecialTokens: Bool) -> Encoding {
        addedTokens.encode(text, template: addSpecialTokens ? parts.template : nil, tokensById: tokensById) { scalars, range, out in
            let normalized = normalize(scalars, range)
            for word in words(normalized) { encodeWord(normalized, word, into: &out) }
        }
    }

    /// `scalars[range]` with spaces as "▁" and the prefix "▁" where the format puts one.
    func normalize(_ scalars: [Unicode.Scalar], _ range: Range<Int>) -> NormalizedText {
        var text = NormalizedText(scalars, range: range)
        for k in text.scalars.indices where text.scalars[k] == " " { text.scalars[k] = "▁" }
        let wanted = parts.spacePrefix == .everySegment || (parts.spacePrefix == .firstSegment && range.lowerBound == 0)
        if wanted && !(parts.prefixUnlessSpace && text.scalars.first == "▁") {
            text.scalars.insert("▁", at: 0)
            text.origins.insert(range.lowerBound..<range.lowerBound, at: 0)
        }
        return text
    }

    /// The words merged separately: the whole segment, or pieces starting at each "▁".
    func words(_ text: NormalizedText) -> [Range<Int>] {
        guard parts.splitsAtSpaces else { return text.scalars.isEmpty ? [] : [0..<text.scalars.count] }
        var out: [Range<Int>] = []
        var start = 0
        for k in text.scalars.indices where k > start && text.scalars[k] == "▁" {
            out.append(start..<k)
            start = k
        }
        if start < text.scalars.count { out.append(start..<text.scalars.count) }
        return out
    }
}
