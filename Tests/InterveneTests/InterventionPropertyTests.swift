import Foundation
import Testing
@testable import Intervene
import Models
import Tensors

/// Invariants checked over many randomly drawn intervention set-ups (sites, units, positions,
/// subspaces, modes) on a tiny GPT-2 and a tiny Llama with grouped-query attention. Each case
/// is seeded; a failure prints the case, so it can be replayed.
@Suite struct InterventionPropertyTests {
    static let batch = 3, length = 7

    /// The two models, with their vocabulary sizes.
    static func models() throws -> [(name: String, model: DecoderModel, vocabulary: Int)] {
        let llamaJSON = """
        {"model_type": "llama", "vocab_size": 30, "max_position_embeddings": 32, "hidden_size": 16, "num_hidden_layers": 2,
         "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 24, "rms_norm_eps": 1e-5, "rope_theta": 10000,
         "tie_word_embeddings": true}
        """
        let llama = try LlamaFamilies.llama.model(ModelConfig(json: try JSONValue.parse(llamaJSON).objectValue!))
        llama.initializeRandomly(seed: 11, std: 0.3)
        return [("gpt2", tinyGPT2(seed: 5), 40), ("llama", llama, 30)]
    }

    /// Vanilla interchange whose source is the base itself, at the same locations, changes no
    /// logit — whatever the sites, units, subspaces and mode.
    @Test func interchangeWithItselfChangesNothing() throws {
        for (name, model, vocabulary) in try Self.models() {
            var generator = InterventionCaseGenerator(model: model, batch: Self.batch, length: Self.length, seed: 101)
            for trial in 0..<100 {
                let c = generator.next(types: [.vanilla], maxInterventions: 3)
                let base = generator.tokens(vocabulary: vocabulary)
                let plain = try model(.tokens(base)).logits
                let im = try IntervenableModel(config: c.config, model: model)
                let sources = Array(repeating: ModelInput.tokens(base), count: c.mode == .serial ? c.representations.count : 1)
                let out = try im.forward(base: .tokens(base), sources: sources, unitLocations: c.unitLocations(), subspaces: c.subspaces)
                #expect(maxDifference(out.intervened.logits, plain) == 0, "\(name) trial \(trial): \(c)")
            }
        }
    }

    /// Collecting the activations at the drawn sites and locations, then patching them back in
    /// with vanilla interventions, changes no logit.
    @Test func collectThenPatchBackChangesNothing() throws {
        for (name, model, vocabulary) in try Self.models() {
            var generator = InterventionCaseGenerator(model: model, batch: Self.batch, length: Self.length, seed: 202)
            for trial in 0..<100 {
                var c = generator.next(types: [.vanilla], maxInterventions: 2, subspaces: false, modes: [.parallel])
                let base = generator.tokens(vocabulary: vocabulary)
                let plain = try model(.tokens(base)).logits
                var collecting = c
                collecting.representations = c.representations.map { var r = $0; r.interventionType = .collect; return r }
                let collector = try IntervenableModel(config: collecting.config, model: model)
                let collectedOutput = try collector.forward(base: .tokens(base), unitLocations: collecting.unitLocations())
                #expect(maxDifference(collectedOutput.intervened.logits, plain) == 0, "\(name) trial \(trial): collecting changed logits: \(c)")
                var blocks: [Int: Tensor] = [:]
                for i in c.representations.indices { blocks[i] = try collectedOutput.collected(i) }
                c.mode = .parallel
                let patcher = try IntervenableModel(config: c.config, model: model)
                let patched = try patcher.forward(base: .tokens(base), unitLocations: c.unitLocations(), sourceActivations: blocks)
                #expect(maxDifference(patched.intervened.logits, plain) == 0, "\(name) trial \(trial): \(c)")
            }
        }
    }

    /// A batch gives every example the result it gets alone: per-example locations, source
    /// locations and subspaces, for static and trainable (rotated-space) interventions.
    @Test func batchedResultsEqualOneAtATime() throws {
        let types: [InterventionType] = [.vanilla, .addition, .subtraction, .zero, .rotatedSpace, .lowRankRotatedSpace]
        for (name, model, vocabulary) in try Self.models() {
            var generator = InterventionCaseGenerator(model: model, batch: Self.batch, length: Self.length, seed: 303)
            for trial in 0..<60 {
                let c = generator.next(types: types, maxInterventions: 2)
                let base = generator.tokens(vocabulary: vocabulary)
                let sourceCount = c.mode == .serial ? c.representations.count : 1
                let sources = (0..<sourceCount).map { _ in generator.tokens(vocabulary: vocabulary) }
                // Source locations: the base's units moved to other positions of the source.
                let sourceLocations = c.locations.map { row in
                    row.map { u in UnitLocation(positions: generator.distinct(u.positions!.count, below: Self.length), heads: u.heads) }
                }
                let im = try IntervenableModel(config: c.config, model: model)
                let batched = try im.forward(base: .tokens(base), sources: sources.map { .tokens($0) },
                                             unitLocations: c.unitLocations(source: sourceLocations), subspaces: c.subspaces).intervened.logits
                for b in 0..<Self.batch {
                    let one = c.example(b)
                    let row = { (t: IndexTensor) in IndexTensor(shape: [1, Self.length], values: Array(t.values[(b * Self.length)..<((b + 1) * Self.length)])) }
                    let single = try im.forward(base: .tokens(row(base)), sources: sources.map { .tokens(row($0)) },
                                                unitLocations: one.unitLocations(source: sourceLocations.map { [$0[b]] }),
                                                subspaces: one.subspaces).intervened.logits
                    let difference = maxDifference(batched.narrowed(0, start: b, length: 1), single)
                    #expect(difference < 1e-5, "\(name) trial \(trial) example \(b): \(difference) — \(c)")
                }
            }
        }
    }

    /// Drawn set-ups broken in one field — a layer or position past the end, a negative index,
    /// a head that does not exist, a subspace dimension past the unit width, too few location
    /// rows, a missing source — are refused with a thrown, described error, never a crash.
    @Test func brokenSetUpsAreRefusedWithErrors() throws {
        var refused = 0, accepted = 0
        for (name, model, vocabulary) in try Self.models() {
            var generator = InterventionCaseGenerator(model: model, batch: Self.batch, length: Self.length, seed: 404)
            for trial in 0..<300 {
                var c = generator.next(types: [.vanilla, .addition, .zero, .lowRankRotatedSpace], maxInterventions: 2)
                let base = generator.tokens(vocabulary: vocabulary)
                var sources: [ModelInput]? = [.tokens(base)]
                let i = generator.random.nextInt(below: c.representations.count)
                let breakage = generator.random.nextInt(below: 8)
                switch breakage {
                case 0: c.representations[i].layer = generator.pick([-1, model.siteTable.layers, 1_000_000])
                case 1: c.locations[i][0].positions = [generator.pick([-1, Self.length, Int.max])]
                case 2: c.locations[i][0].heads = [generator.pick([-2, 64, Int.min])]
                case 3: c.subspaces = c.representations.map { _ in (0..<Self.batch).map { _ in [generator.pick([-1, 10_000])] } }
                case 4: c.locations[i].removeLast()
                case 5: sources = nil
                case 6: c.representations[i].component = Component(generator.pick(["no_such_site", "", "block_output.\u{0}"]))
                default: c.representations[i].maxNumberOfUnits = generator.pick([0, -3])
                }
                do {
                    let im = try IntervenableModel(config: c.config, model: model)
                    _ = try im.forward(base: .tokens(base), sources: sources, unitLocations: c.unitLocations(), subspaces: c.subspaces)
                    accepted += 1  // e.g. a zero intervention needs no source
                } catch {
                    refused += 1
                    #expect(!"\(error)".isEmpty, "\(name) trial \(trial) breakage \(breakage): empty message")
                }
            }
        }
        #expect(refused > 500, "only \(refused) of \(refused + accepted) broken set-ups were refused")
    }
}
