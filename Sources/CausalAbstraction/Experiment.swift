import Foundation
import Intervene
import Models
import Tensors

/// An experiment file: which model, which data, which representations and intervention, how to
/// train, where to write. Paths are relative to the current directory.
///
/// ```json
/// {"name": "hierarchical-equality-das", "seed": 0,
///  "model": {"builtin": "hierarchical_equality_mlp", "save_to": "Interventions/hierarchical-equality-mlp"},
///  "data": {"builtin": "hierarchical_equality", "variable": "left_equality", "train": 10000, "test": 10000},
///  "representations": [{"layer": 0, "component": "block_output", "unit": "pos", "max_number_of_units": 1,
///                       "subspace_partition": [[0, 8], [8, 16]]}],
///  "intervention_types": "RotatedSpaceIntervention", "subspaces": [0],
///  "training": {"epochs": 10, "batch_size": 64, "learning_rate": 0.001},
///  "output": {"bundle": "Interventions/hierarchical-equality-das", "metrics": "Interventions/hierarchical-equality-das/metrics.json"}}
/// ```
///
/// `data.train` and `data.test` may also be .jsonl paths or lists of examples written inline
/// (see `InterventionExample`), with text tokenized by the model's tokenizer:
///
/// ```json
/// "data": {"train": [{"base": "The capital of Spain is", "source": "The capital of Italy is",
///                     "positions": ["Spain"], "source_positions": ["Italy"], "label": " Rome"}],
///          "test": "capitals-test.jsonl"}
/// ```
public struct Experiment: Decodable, Sendable {
    public struct ModelSpec: Decodable, Sendable {
        /// A Hugging Face checkpoint folder.
        public var path: String?
        /// A built-in task model ("hierarchical_equality_mlp"), trained from the seed.
        public var builtin: String?
        /// Where to write a built-in model after training it (a checkpoint folder).
        public var saveTo: String?
        /// A tokenizer.json for text data (default: the checkpoint folder's tokenizer.json, when
        /// it has one).
        public var tokenizer: String?
        enum CodingKeys: String, CodingKey, CaseIterable { case path, builtin, saveTo = "save_to", tokenizer }
    }

    public struct DataSpec: Decodable, Sendable {
        /// A built-in task ("hierarchical_equality").
        public var builtin: String?
        /// The causal variable to intervene on ("left_equality", "right_equality").
        public var variable: String?
        /// Number of training and test pairs for built-in tasks; or the path of a .jsonl file, or
        /// a list of examples written inline (each a JSON object as in `InterventionExample`,
        /// text tokenized with the model's tokenizer).
        public var train: JSONCodable?
        public var test: JSONCodable?
        enum CodingKeys: String, CodingKey, CaseIterable { case builtin, variable, train, test }

        /// Refuses unknown keys in inline examples, naming their path ("data.train[3].postions").
        func rejectUnknownExampleKeys() throws {
            for (name, value) in [("train", train), ("test", test)] {
                for (i, item) in (value?.value.arrayValue ?? []).enumerated() {
                    guard let unknown = item.objectValue?.keys.sorted().first(where: { !InterventionExample.jsonKeys.contains($0) }) else { continue }
                    throw ConfigurationError.unknownKey(key: unknown, path: "data.\(name)[\(i)].\(unknown)", allowed: InterventionExample.jsonKeys)
                }
            }
        }
    }

    public struct TrainingSpec: Decodable, Sendable {
        public var epochs: Int?
        public var batchSize: Int?
        public var learningRate: Float?
        public var optimizer: String?
        public var boundaryLearningRate: Float?
        public var temperatureStart: Float?
        public var temperatureEnd: Float?
        public var warmupFraction: Float?
        public var gradientAccumulationSteps: Int?
        public var earlyStoppingPatience: Int?
        /// What early stopping watches on the validation examples: "iia" (default) or "loss".
        public var earlyStoppingMetric: String?
        /// The share of the training examples held out (chosen by the seed) to evaluate after
        /// every epoch, which early stopping watches; default 0.1 with
        /// `early_stopping_patience`, else 0 (every example trains).
        public var validationFraction: Double?
        public var clipGradientNorm: Float?
        public var boundaryRegularization: Float?
        enum CodingKeys: String, CodingKey, CaseIterable {
            case epochs, optimizer
            case batchSize = "batch_size", learningRate = "learning_rate", boundaryLearningRate = "boundary_learning_rate"
            case temperatureStart = "temperature_start", temperatureEnd = "temperature_end", warmupFraction = "warmup_fraction"
            case gradientAccumulationSteps = "gradient_accumulation_steps", earlyStoppingPatience = "early_stopping_patience"
            case earlyStoppingMetric = "early_stopping_metric", validationFraction = "validation_fraction"
            case clipGradientNorm = "clip_gradient_norm", boundaryRegularization = "boundary_regularization"
        }
    }

    public struct OutputSpec: Decodable, Sendable {
        public var bundle: String
        public var metrics: String?
        enum CodingKeys: String, CodingKey, CaseIterable { case bundle, metrics }
    }

    public var name: String
    public var seed: UInt64
    public var model: ModelSpec
    public var data: DataSpec
    public var representations: [RepresentationConfig]
    public var interventionTypes: String?
    public var subspaces: [Int]?
    public var training: TrainingSpec
    public var output: OutputSpec
    /// Lists of values to sweep (see `SweepSpec`); `intervene train` ignores it, `intervene
    /// sweep` trains one intervention per combination.
    public var sweep: SweepSpec?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, seed, model, data, representations, subspaces, training, output, sweep
        case interventionTypes = "intervention_types"
    }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try Experiment.rejectUnknownNestedKeys(c)
        name = try c.decode(String.self, forKey: .name)
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? 0
        model = try c.decode(ModelSpec.self, forKey: .model)
        data = try c.decode(DataSpec.self, forKey: .data)
        try data.rejectUnknownExampleKeys()
        representations = try c.decode([RepresentationConfig].self, forKey: .representations)
        interventionTypes = try c.decodeIfPresent(String.self, forKey: .interventionTypes)
        subspaces = try c.decodeIfPresent([Int].self, forKey: .subspaces)
        training = try c.decodeIfPresent(TrainingSpec.self, forKey: .training) ?? TrainingSpec()
        output = try c.decode(OutputSpec.self, forKey: .output)
        sweep = try c.decodeIfPresent(SweepSpec.self, forKey: .sweep)
    }

    /// Rejects unknown keys in the nested objects: model, data, training, output and every
    /// representation.
    static func rejectUnknownNestedKeys(_ c: KeyedDecodingContainer<CodingKeys>) throws {
        let nested: [(CodingKeys, (Decoder) throws -> Void)] = [
            (.model, { try $0.rejectUnknownKeys(ModelSpec.CodingKeys.self) }), (.data, { try $0.rejectUnknownKeys(DataSpec.CodingKeys.self) }),
            (.training, { try $0.rejectUnknownKeys(TrainingSpec.CodingKeys.self) }), (.output, { try $0.rejectUnknownKeys(OutputSpec.CodingKeys.self) }),
        ]
        for (key, check) in nested where c.contains(key) { try check(try c.superDecoder(forKey: key)) }
        if c.contains(.representations), var list = try? c.nestedUnkeyedContainer(forKey: .representations) {
            while !list.isAtEnd { try RepresentationConfig.rejectUnknownKeys(in: try list.superDecoder()) }
        }
    }

    /// Reads an experiment file; a malformed one throws `ExperimentError` naming the field, an
    /// unknown (misspelled) key `ExperimentError.unknownKey` naming the key, where it is and the
    /// keys allowed there.
    public static func load(path: String) throws -> Experiment {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ExperimentError.invalid(file: path, field: "(file)", value: "missing", expected: "a readable JSON experiment file")
        }
        return try decode(data, file: path)
    }

    /// Reads an experiment from the bytes of a JSON experiment file; `path` names it in errors,
    /// which are those of `load(path:)`.
    public static func decode(_ data: Data, file path: String) throws -> Experiment {
        try ExperimentFieldCheck.check(data, file: path)
        do { return try JSONDecoder().decode(Experiment.self, from: data) } catch let ConfigurationError.unknownKey(key, keyPath, allowed) {
            throw ExperimentError.unknownKey(file: path, key: key, path: keyPath, allowed: allowed)
        } catch let ConfigurationError.invalidField(field, value, allowed) {
            throw ExperimentError.invalid(file: path, field: field, value: value, expected: allowed)
        } catch let e as ConfigurationError {
            throw ExperimentError.invalid(file: path, field: "representations", value: "…", expected: "\(e)")
        } catch {
            let problem = DecodingProblem(error)
            throw ExperimentError.invalid(file: path, field: problem.field, value: "…", expected: problem.expected)
        }
    }
}

/// An experiment that cannot run as written.
public enum ExperimentError: Error, CustomStringConvertible, Equatable {
    case invalid(file: String, field: String, value: String, expected: String)
    /// A key the experiment format does not have (often a misspelling), at `path` in `file`.
    case unknownKey(file: String, key: String, path: String, allowed: [String])
    /// `field` of an example in `file` ("path:line", or an experiment file) is text, and no
    /// tokenizer was given to turn it into token ids.
    case textWithoutTokenizer(file: String, field: String)

    public var description: String {
        switch self {
        case .invalid(let file, let field, let value, let expected):
            return "\(file): field '\(field)'\(value == "…" ? "" : " has value \(value);") expected \(expected)"
        case .unknownKey(let file, let key, let path, let allowed):
            return "\(file): unknown key '\(key)' at \(path); allowed keys there: \(allowed.joined(separator: ", "))"
        case .textWithoutTokenizer(let file, let field):
            return "\(file): field '\(field)' is text, which needs the model's tokenizer, and there is none (give token ids, or a model with a tokenizer.json)"
        }
    }
}
