import Tensors

extension ByteLevelBPETokenizer {
    /// Reads a byte-level BPE tokenizer.json (model BPE with a ByteLevel pre-tokenizer).
    init(json: JSONValue, path: String) throws {
        let model = json["model"]!.objectValue!
        try TokenizerLoader.checkPlainBPE(model, path: path)
        let pre = try PreTokenizerJSON.parse(json["pre_tokenizer"], path: path)
        guard pre.byteLevel else {
            throw TokenizerError.unsupported(path: path, field: "pre_tokenizer", value: json["pre_tokenizer"]?["type"]?.stringValue ?? "null",
                                             supported: "a ByteLevel pre-tokenizer (alone or in a Sequence)")
        }
        let vocabulary = try TokenizerLoader.vocabulary(model, path: path)
        let added = try TokenizerLoader.addedTokens(json, path: path)
        var parts = Parts(vocabulary: vocabulary,
                          merges: try TokenizerLoader.merges(model, path: path).map { SymbolPair(left: $0.0, right: $0.1) },
                          addedTokens: added, preTokenizer: PreTokenizer(pre.steps))
        parts.composesNFC = try PreTokenizerJSON.composesNFC(json["normalizer"], path: path)
        parts.ignoresMerges = model["ignore_merges"]?.boolValue ?? false
        parts.unknownId = model["unk_token"]?.stringValue.flatMap { vocabulary[$0] }
        let idOf = { (name: String) in vocabulary[name] ?? added.first { $0.content == name }?.id }
        (parts.template, parts.beginningOfSequenceId, parts.endOfSequenceId) = try TokenizerLoader.specialTokens(json, path: path, idOf: idOf)
        self.init(parts)
    }
}
