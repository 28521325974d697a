import Intervene
import Models
import Tensors

extension InterventionExample {
    /// A collator for `representations` interventions that all use the examples' positions,
    /// with optional per-representation subspaces (partition ids) for every example. Examples of
    /// several sources need one representation per source: representation k reads source k at
    /// the example's `locations(ofSource: k)`.
    ///
    /// The inputs of one batch must have one length (the model runs them unpadded, so batched
    /// results equal single-example runs); `batches(_:size:teacherForcing:)` groups examples so.
    /// With `teacherForcing`, each token base is followed by its `answer` (all its tokens: every
    /// answer of the batch must have one length) and the batch's label position is the last
    /// prompt position, where `Metric.answerLogProbability` starts reading. Interventions keep
    /// their positions in the prompt; for causal language models the appended tokens change no
    /// output at or before the label position, so IIA and the loss are those without them.
    public static func collator(representations: Int, subspaces: [Int]?,
                                teacherForcing: Bool = false) -> ([InterventionExample]) throws -> InterventionBatch {
        { examples in
            guard !examples.isEmpty else { throw ConfigurationError.invalidField(field: "examples", value: "[]", allowed: "at least one example per batch") }
            let count = examples[0].sources.count
            guard examples.allSatisfy({ $0.sources.count == count }) else {
                throw ConfigurationError.invalidField(field: "sources", value: "\(Set(examples.map(\.sources.count)).sorted()) per example",
                                                      allowed: "one number of sources within a batch")
            }
            guard count == 1 || count == representations else {
                throw ConfigurationError.invalidField(field: "sources", value: "\(count) per example",
                                                      allowed: "one source, or one per representation (\(representations)): intervention k reads source k")
            }
            let sources = try (0..<count).map { k in try stack(examples.map { $0.sources[k] }, count == 1 ? "source" : "source \(k)") }
            var base = try stack(examples.map(\.base), "base")
            var labelPosition: Int? = base.isTokens ? -1 : nil
            if teacherForcing {
                let (extended, lastPrompt) = try appendingAnswers(examples)
                (base, labelPosition) = (extended, lastPrompt)
            }
            let locations = UnitLocations((0..<representations).map { r in
                let k = count == 1 ? 0 : r
                return InterventionLocations(source: examples.map { .positions($0.locations(ofSource: k).source) },
                                             base: examples.map { .positions($0.locations(ofSource: k).base) })
            })
            return InterventionBatch(base: base, sources: sources, unitLocations: locations,
                                     subspaces: subspaces.map { s in Array(repeating: Array(repeating: s, count: examples.count), count: representations) },
                                     labels: examples.map(\.label), labelPosition: labelPosition)
        }
    }

    /// The examples' token bases, each followed by its answer, and the last prompt position.
    static func appendingAnswers(_ examples: [InterventionExample]) throws -> (ModelInput, Int) {
        let bases = try examples.map { example -> [Int] in
            guard case .tokens(let ids) = example.base else {
                throw ConfigurationError.invalidField(field: "base inputs", value: "embeddings", allowed: "token ids (teacher forcing appends answer tokens)")
            }
            return ids
        }
        for (side, lengths) in [("base", bases.map(\.count)), ("answer", examples.map(\.answer.count))] where Set(lengths).count > 1 {
            throw ConfigurationError.invalidField(field: "\(side) lengths", value: "\(Set(lengths).sorted())",
                                                  allowed: "one length within a teacher-forced batch (see InterventionExample.batches)")
        }
        let rows = zip(bases, examples).map { $0 + $1.answer }
        return (.tokens(IndexTensor(shape: [rows.count, rows[0].count], values: Array(rows.joined()))), bases[0].count - 1)
    }

    /// Inputs of one kind and length as one batch: ids (B, S) or embeddings (B, S, width).
    static func stack(_ inputs: [Input], _ side: String) throws -> ModelInput {
        let length = inputs[0].length
        guard inputs.allSatisfy({ $0.length == length }) else {
            throw ConfigurationError.invalidField(field: "\(side) inputs", value: "lengths \(Set(inputs.map(\.length)).sorted())",
                                                  allowed: "one length within a batch (see InterventionExample.batches)")
        }
        let mixed = ConfigurationError.invalidField(field: "\(side) inputs", value: "mixed", allowed: "all token ids or all embeddings of one width")
        switch inputs[0] {
        case .tokens:
            let ids = try inputs.map { input -> [Int] in
                guard case .tokens(let t) = input else { throw mixed }
                return t
            }
            return .tokens(IndexTensor(shape: [ids.count, length], values: Array(ids.joined())))
        case .embeddings(let first):
            guard let width = first.first?.count else {
                throw ConfigurationError.invalidField(field: "\(side) inputs", value: "[]", allowed: "at least one embedding vector")
            }
            var values: [Float] = []
            values.reserveCapacity(inputs.count * length * width)
            for input in inputs {
                guard case .embeddings(let e) = input, e.allSatisfy({ $0.count == width }) else { throw mixed }
                for row in e { values.append(contentsOf: row) }
            }
            return .embeddings(Tensor(shape: [inputs.count, length, width], values: values))
        }
    }

    /// What decides whether two examples can share a batch: the kinds and lengths of their
    /// inputs (every source's), how many positions they intervene on, and with teacher forcing
    /// the length of their answers.
    struct Shape: Hashable {
        let base: Int, sources: [Int], tokens: Bool, positions: [Int], sourcePositions: [Int], answer: Int
    }

    func shape(teacherForcing: Bool) -> Shape {
        let locations = sources.indices.map(locations(ofSource:))
        return Shape(base: base.length, sources: sources.map(\.length), tokens: base.isTokens, positions: locations.map(\.base.count),
                     sourcePositions: locations.map(\.source.count), answer: teacherForcing ? answer.count : 0)
    }

    /// The examples in batches of at most `size` that `collator` can stack: examples of one
    /// shape (input kinds and lengths, position counts, and answer length with
    /// `teacherForcing`) in their order, shapes in the order they first occur. Train on them with an
    /// `InterventionTrainer<[InterventionExample]>` whose batch size is 1 and whose collator
    /// joins the groups it gets.
    public static func batches(_ examples: [InterventionExample], size: Int, teacherForcing: Bool = false) -> [[InterventionExample]] {
        var order: [Shape] = [], groups: [Shape: [InterventionExample]] = [:]
        for example in examples {
            let key = example.shape(teacherForcing: teacherForcing)
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(example)
        }
        return order.flatMap { key in
            let group = groups[key]!, step = Swift.max(size, 1)
            return stride(from: 0, to: group.count, by: step).map { Array(group[$0..<Swift.min($0 + step, group.count)]) }
        }
    }

    /// True when every example has one shape, so any batch of them stacks.
    public static func haveOneShape(_ examples: [InterventionExample], teacherForcing: Bool = false) -> Bool {
        Set(examples.map { $0.shape(teacherForcing: teacherForcing) }).count <= 1
    }
}

/// How the runner hands examples to the trainer so every batch stacks without padding: when
/// all examples share one shape, one unit per example (the trainer shuffles and batches them
/// as it always has); otherwise batches grouped by shape (`InterventionExample.batches`), one
/// unit per trainer batch (the trainer shuffles their order every epoch; their composition is
/// drawn once, from `shuffleSeed` when given).
struct ExampleBatching {
    let grouped: Bool
    let size: Int
    let teacherForcing: Bool

    /// Batching for batches of `size` of `examples` (all the sets one trainer will see).
    init(_ examples: [InterventionExample], size: Int, teacherForcing: Bool = false) {
        grouped = !InterventionExample.haveOneShape(examples, teacherForcing: teacherForcing)
        self.size = size
        self.teacherForcing = teacherForcing
    }

    /// The trainer's batch size in units.
    var trainerBatchSize: Int { grouped ? 1 : size }

    func units(_ examples: [InterventionExample], shuffleSeed: UInt64? = nil) -> [[InterventionExample]] {
        guard grouped else { return examples.map { [$0] } }
        var shuffled = examples
        if let shuffleSeed {
            var generator = RandomGenerator(seed: shuffleSeed)
            shuffled.shuffle(using: &generator)
        }
        return InterventionExample.batches(shuffled, size: size, teacherForcing: teacherForcing)
    }
}

extension ModelInput {
    var isTokens: Bool { if case .tokens = self { return true }; return false }
}
