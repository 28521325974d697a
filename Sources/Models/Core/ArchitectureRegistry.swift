import Foundation
import Synchronization
import Tensors

/// How to build and load one architecture, keyed by config.json's `model_type`.
public struct Architecture: Sendable {
    /// config.json's model_type.
    public let modelType: String
    /// Builds a model with unloaded (zero) weights from its config.
    public let build: @Sendable (ModelConfig) throws -> any HookableModel
    /// Parameter keys a checkpoint may omit (besides the model's own tied keys).
    public let allowMissing: Set<String>
    /// Checkpoint keys the model does not need (buffers, unused heads).
    public let ignoreUnexpected: @Sendable (String) -> Bool
    /// Adjusts a built model to its checkpoint before loading (e.g. BERT's optional "bert."
    /// key prefix).
    public let prepare: (@Sendable (any HookableModel, Checkpoint) -> Void)?

    public init(modelType: String, allowMissing: Set<String> = [], ignoreUnexpected: @escaping @Sendable (String) -> Bool = { _ in false },
                prepare: (@Sendable (any HookableModel, Checkpoint) -> Void)? = nil,
                build: @escaping @Sendable (ModelConfig) throws -> any HookableModel) {
        self.modelType = modelType
        self.build = build
        self.allowMissing = allowMissing
        self.ignoreUnexpected = ignoreUnexpected
        self.prepare = prepare
    }
}

/// Maps `model_type` to architectures. The built-in ones are registered from the start; register
/// your own model (any `HookableModel` with its `SiteTable`) without changing the library.
public final class ArchitectureRegistry: Sendable {
    /// The registry `ModelLoader` uses.
    public static let shared = ArchitectureRegistry()

    private let entries = Mutex<[String: Architecture]>([:])

    init() {
        for architecture in ArchitectureRegistry.builtIn { register(architecture) }
    }

    /// Adds or replaces an architecture.
    public func register(_ architecture: Architecture) {
        entries.withLock { $0[architecture.modelType] = architecture }
    }

    /// The architecture for `modelType`, or a thrown error listing the known types.
    public func architecture(for modelType: String) throws -> Architecture {
        let found = entries.withLock { $0[modelType] }
        guard let found else { throw ModelError.unknownModelType(modelType, known: modelTypes) }
        return found
    }

    /// Registered model types, sorted.
    public var modelTypes: [String] { entries.withLock { $0.keys.sorted() } }

    static let builtIn: [Architecture] = DecoderFamily.builtIn.map(\.architecture) + [
        Architecture(modelType: "bert", ignoreUnexpected: { BERTModel.isIgnorableKey($0) }, prepare: { model, checkpoint in
            // Checkpoints of BertModel name keys "embeddings…"; those of task heads "bert.embeddings…".
            if let bert = model as? BERTModel, checkpoint.contains("bert.embeddings.word_embeddings.weight") { bert.keyPrefix = "bert." }
        }) {
            BERTModel(try BERTConfiguration($0))
        },
        Architecture(modelType: "mlp") { MLPClassifier(try MLPClassifierConfiguration($0)) },
        Architecture(modelType: "gru") { GRUClassifier(try GRUClassifierConfiguration($0)) },
    ]
}

/// Loads models from Hugging Face checkpoint folders (config.json + safetensors).
public enum ModelLoader {
    /// Builds the model config.json describes and loads its weights. The model is frozen
    /// (no parameter computes a gradient). With `strict` false, missing or unexpected keys are
    /// tolerated and returned in the report.
    public static func load(folder: String, strict: Bool = true,
                            registry: ArchitectureRegistry = .shared) throws -> (model: any HookableModel, report: LoadReport) {
        let config = try ModelConfig(path: folder + "/config.json")
        let architecture = try registry.architecture(for: try config.modelType())
        let model = try architecture.build(config)
        let checkpoint = try Checkpoint(path: folder)
        architecture.prepare?(model, checkpoint)
        let report = try model.load(from: checkpoint, strict: strict, allowMissing: architecture.allowMissing,
                                    ignoreUnexpected: architecture.ignoreUnexpected)
        model.freeze()
        return (model, report)
    }

    /// Loads a model, requiring a clean checkpoint.
    public static func load(folder: String) throws -> any HookableModel {
        try load(folder: folder, strict: true).model
    }
}

extension HookableModel {
    /// Fills every parameter with N(0, std²) (LayerNorm / RMSNorm weights with ones, biases with
    /// zeros), reproducibly from `seed` — for benchmarks and tests that need no trained weights.
    public func initializeRandomly(seed: UInt64, std: Float = 0.02) {
        var g = RandomGenerator(seed: seed)
        // In place: a model's weights are written where they live, never held twice.
        visitParameters { key, p in
            if key.hasSuffix("bias") {
                p.update { values in values.update(repeating: 0) }
            } else if p.shape.count == 1 {
                p.update { values in values.update(repeating: 1) }
            } else {
                p.update { values in
                    for i in values.indices { values[i] = 0 + std * g.nextNormal() }  // as Tensor.randomNormal(mean: 0)
                }
            }
        }
    }
}
