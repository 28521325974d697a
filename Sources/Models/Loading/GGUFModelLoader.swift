import Foundation
import Tensors

/// How a GGUF file's block-quantized matrices are loaded.
public enum QuantizedWeights: String, Sendable, CaseIterable {
    /// Matrices of a `QuantizedMatrix.supportedTypes` type stay in their blocks (the default):
    /// about an eighth of the Float32 memory for Q4 files, products decoded on the fly, every
    /// activation, hook and intervention still Float32. The weights are frozen.
    case keep
    /// Every tensor is dequantized to Float32 on load (`--dequantize`): needed to train weights.
    case dequantize
}

/// Loads llama.cpp GGUF files as decoder models: architecture metadata → `DecoderConfig`,
/// llama.cpp tensor names → the family's checkpoint keys, matrices kept quantized or
/// dequantized to Float32 (`QuantizedWeights`), and the tokenizer from `tokenizer.ggml.*`.
public enum GGUFModelLoader {
    /// GGUF architectures this loader maps, sorted.
    public static var architectures: [String] { GGUFArchitecture.supported.keys.sorted() }

    /// The model, its tokenizer and the cost of loading the GGUF file at `path`. Throws a typed
    /// error for a malformed file (`GGUFError`), an unsupported architecture, metadata that does
    /// not fit, or tensors that are missing, unexpected or mis-shaped.
    public static func load(path: String, started: Date = Date(), quantizedWeights: QuantizedWeights = .keep) throws -> LoadedModel {
        try load(file: try GGUFFile(path: path), started: started, quantizedWeights: quantizedWeights)
    }

    /// The model, its tokenizer and the cost of loading an opened GGUF file (from a path or from
    /// bytes in memory); throws as `load(path:)` does.
    public static func load(file: GGUFFile, started: Date = Date(), quantizedWeights: QuantizedWeights = .keep) throws -> LoadedModel {
        let (model, report) = try model(from: file, quantizedWeights: quantizedWeights)
        let tokenizer = try GGUFTokenizerReader.tokenizer(from: GGUFMetadataReader(file: file, prefix: ""))
        return LoadedModel(model: model, tokenizer: tokenizer, report: report, source: file.path,
                           loadSeconds: Date().timeIntervalSince(started), peakMemoryMiB: peakResidentMemoryMiB())
    }

    /// The tokenizer an opened GGUF file's `tokenizer.ggml.*` metadata describes, or nil when it
    /// has no `tokenizer.ggml.model`; throws `ModelError` naming the key of bad metadata.
    public static func tokenizer(from file: GGUFFile) throws -> (any Tokenizer)? {
        try GGUFTokenizerReader.tokenizer(from: GGUFMetadataReader(file: file, prefix: ""))
    }

    /// The decoder the file describes, with its weights, frozen.
    public static func model(from file: GGUFFile, quantizedWeights: QuantizedWeights = .keep) throws -> (model: DecoderModel, report: LoadReport) {
        guard let archValue = file.metadata["general.architecture"], let name = archValue.stringValue else {
            throw ModelError.invalidConfig(path: file.path, field: "general.architecture", value: file.metadata["general.architecture"].map { "\($0)" } ?? "missing",
                                           expected: "a string naming the architecture")
        }
        guard let architecture = GGUFArchitecture.supported[name] else {
            throw ModelError.invalidConfig(path: file.path, field: "general.architecture", value: "\"\(name)\"", expected: "one of \(architectures.joined(separator: ", "))")
        }
        let m = GGUFMetadataReader(file: file, prefix: name)
        let vocabulary = try m.optionalInt("vocab_size") ?? (try m.strings("tokenizer.ggml.tokens"))?.count
            ?? (file.contains("token_embd.weight") ? try file.shape("token_embd.weight")[0] : 0)
        let config = try architecture.config(m, vocabulary: vocabulary)
        try checkSizes(config, fit: file, architecture: name)
        let model = try DecoderModel(config, keyMap: architecture.family.keyMap)
        let report = try assign(file, to: model, architecture: architecture, quantizedWeights: quantizedWeights)
        model.freeze()
        return (model, report)
    }

    /// Refuses metadata sizes (vocabulary, width, layers, heads, feed-forward width) whose weights
    /// outnumber the elements the file's tensors store: such a file cannot fill the model, and
    /// building it first could allocate far more memory than the file's size.
    static func checkSizes(_ config: DecoderConfig, fit file: GGUFFile, architecture name: String) throws {
        var stored = 0
        for info in file.tensorInfos {
            let (sum, overflow) = stored.addingReportingOverflow(info.elementCount)
            stored = overflow ? Int.max : sum
        }
        guard let needed = config.minimumWeightCount, needed <= stored else {
            let sizes = "vocabulary \(config.vocabularySize), width \(config.width), \(config.layers) layers of \(config.heads) heads × \(config.headDim), "
                + "feed_forward_length \(config.intermediate)"
            throw ModelError.invalidConfig(path: file.path, field: "\(name).{embedding_length, block_count, attention.head_count, feed_forward_length}",
                                           value: sizes, expected: "sizes whose weights (at least \(config.minimumWeightCount.map(String.init) ?? "more than 2^63")) "
                                               + "fit in the \(stored) tensor elements the file stores")
        }
    }

    /// Assigns every parameter (matrices kept quantized or dequantized as asked); throws
    /// `ModelError.checkpointMismatch` unless every parameter has a tensor of its shape and
    /// every tensor is used.
    static func assign(_ file: GGUFFile, to model: DecoderModel, architecture: GGUFArchitecture,
                       quantizedWeights: QuantizedWeights) throws -> LoadReport {
        var report = LoadReport()
        var used: Set<String> = ["rope_freqs.weight"]
        var assignments: [(key: String, name: String, parameter: Parameter)] = []
        for (key, parameter) in model.namedParameters {
            guard let name = architecture.ggufName(key), file.contains(name) else {
                if !model.tiedKeys.contains(key) { report.missing.append(key) }
                continue
            }
            used.insert(name)
            let shape = try file.shape(name)
            guard shape.reduce(1, *) == parameter.shape.reduce(1, *), shape.last == parameter.shape.last else {
                report.misshaped.append(.init(key: key, expected: parameter.shape, found: shape))
                continue
            }
            assignments.append((key, name, parameter))
        }
        report.unexpected = file.names.filter { !used.contains($0) }.sorted()
        guard report.isClean else { throw ModelError.checkpointMismatch(report) }
        for (key, name, parameter) in assignments {
            let info = try file.info(name)
            if quantizedWeights == .keep, parameter.shape.count == 2, info.ne.count == 2, QuantizedMatrix.supportedTypes.contains(info.type) {
                var matrix = try QuantizedMatrix(file.rawTensor(name))
                if let order = architecture.rowOrder(key: key, rows: matrix.rows, config: model.config) { matrix = matrix.permutingRows(order) }
                parameter.assign(quantized: matrix)
                continue
            }
            var tensor = try file.tensor(name).reshaped(parameter.shape)
            // Vectors (norms, biases) are copied so they do not keep the whole file mapped.
            if tensor.rank == 1 { tensor = tensor.copy() }
            parameter.assign(architecture.transform(tensor, key: key, config: model.config))
        }
        return report
    }
}
