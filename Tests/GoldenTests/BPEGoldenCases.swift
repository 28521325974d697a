import Foundation
import Models
import Tensors

/// Cases of the bpe-golden/v1 format: byte-level BPE encode and decode.
struct BPEGoldenCases {
    let data: GoldenFolder

    init(_ data: GoldenFolder) { self.data = data }

    func runAll() -> [GoldenResult] {
        let file = data.manifest["model"]?["tokenizer_file"]?.stringValue ?? "tokenizer.json"
        let tokenizer = Result { try TokenizerLoader.load(path: data.folder + "/" + file) }
        return data.cases.map { c in
            GoldenRunner.result(c) {
                let t = try tokenizer.get()
                var comparator = GoldenComparator()
                let expected = c["expected"]!
                switch c["kind"]?.stringValue ?? "" {
                case "encode":
                    let text = c["text"]?.stringValue ?? ""
                    let e = t.encode(text, addSpecialTokens: false)
                    comparator.check("ids", e.ids, expected["ids"]?.arrayValue?.compactMap(\.intValue) ?? [])
                    comparator.check("tokens", text: e.tokens, expected["tokens"]?.arrayValue?.compactMap(\.stringValue))
                    let offsets = e.offsets.flatMap { [$0.lowerBound, $0.upperBound] }
                    let expectedOffsets = expected["offsets"]?.arrayValue?.flatMap { $0.arrayValue?.compactMap(\.intValue) ?? [] } ?? []
                    comparator.check("offsets", offsets, expectedOffsets)
                    comparator.check("decode", text: t.decode(e.ids, skipSpecialTokens: true), expected["decode"]?.stringValue)
                    comparator.check("decode keeping special tokens", text: t.decode(e.ids, skipSpecialTokens: false), expected["decode_keep_special"]?.stringValue)
                    if let want = expected["token_decodes"]?.arrayValue?.compactMap(\.stringValue) {
                        comparator.check("token decodes", text: e.ids.map { t.decode([$0], skipSpecialTokens: false) }, want)
                    }
                    // The stored tensor slice holds the same ids.
                    if let slice = c["tensor_slice"]?.arrayValue?.compactMap(\.intValue), slice.count == 2, slice[1] > slice[0] {
                        let all = try data.integers("all.ids").values
                        comparator.check("all.ids slice", e.ids, Array(all[slice[0]..<slice[1]]))
                    }
                case "decode":
                    let ids = c["ids"]?.arrayValue?.compactMap(\.intValue) ?? []
                    comparator.check("decode", text: t.decode(ids, skipSpecialTokens: true), expected["decode"]?.stringValue)
                    comparator.check("decode keeping special tokens", text: t.decode(ids, skipSpecialTokens: false), expected["decode_keep_special"]?.stringValue)
                default:
                    throw GoldenSkip("case kind '\(c["kind"]?.stringValue ?? "?")' is not known")
                }
                try comparator.verdict()
                return nil
            }
        }
    }
}
