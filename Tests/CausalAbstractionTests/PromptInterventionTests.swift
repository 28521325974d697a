import Foundation
import Testing
import CausalAbstraction
import Intervene
import Models
import Tensors

/// One-off prompt interventions on a random GPT-2 with the real GPT-2 tokenizer.
@Suite struct PromptInterventionTests {
    static let tokenizerPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path + "/../shared/golden/bpe-tokenizer/tokenizer.json"

    func setup() throws -> PromptIntervention {
        let model = try GPT2Family.model(GPT2Family.config(vocabularySize: 50257, positions: 32, width: 16, layers: 2, heads: 2))
        model.initializeRandomly(seed: 3, std: 0.3)
        return PromptIntervention(model: model, tokenizer: try TokenizerLoader.load(path: Self.tokenizerPath))
    }

    @Test func positionsByIndexNegativeIndexAndSubstring() throws {
        let tokenizer = try TokenizerLoader.load(path: Self.tokenizerPath)
        let text = "The capital of Spain is"
        let tokenized = TokenizedText(text, tokenizer: tokenizer)
        let encoding = tokenized.encoding
        // The golden BPE set's small vocabulary splits the words.
        #expect(encoding.tokens == ["T", "he", "Ġc", "ap", "it", "al", "Ġof", "ĠS", "pa", "in", "Ġis"])
        #expect(try TokenPosition.resolve("3", in: tokenized, field: "--pos") == 3)
        #expect(try TokenPosition.resolve("-1", in: tokenized, field: "--pos") == 10)
        #expect(try TokenPosition.resolve("-11", in: tokenized, field: "--pos") == 0)
        #expect(try TokenPosition.resolve("Spain", in: tokenized, field: "--pos") == 9)  // the last of ĠS pa in
        #expect(try TokenPosition.resolve("capital of", in: tokenized, field: "--pos") == 6)
        #expect(throws: ExperimentError.invalid(file: "--pos", field: "position", value: "11",
                                                expected: "an index in -11..<11; tokens: " + tokenized.tokenList)) {
            try TokenPosition.resolve("11", in: tokenized, field: "--pos")
        }
        #expect(throws: ExperimentError.self) { try TokenPosition.resolve("France", in: tokenized, field: "--pos") }
    }

    @Test func interventionsMoveTheNextTokenDistribution() throws {
        let run = try setup()
        let site = try Site(parsing: "1:block_output")
        // Interchanging a prompt with itself changes nothing.
        let same = try run.run(prompt: "The capital of Spain is", source: "The capital of Spain is", site: site, position: "Spain",
                               kind: .vanilla, answers: [" is", " of"])
        #expect(same.before == same.after && same.position == 9 && same.sourcePosition == 9)
        let ids = [" is", " of"].map { run.tokenizer.encode($0, addSpecialTokens: false).ids[0] }
        #expect(same.answers.map(\.id) == ids && same.answers.allSatisfy { $0.before == $0.after })
        // An answer of several tokens is refused, naming its tokens.
        #expect(throws: ExperimentError.invalid(file: "--answer", field: "answer", value: "\" Madrid\"",
                                                expected: #"one token (its logit is compared); it is 4 tokens: " M" "ad" "ri" "d""#)) {
            try run.run(prompt: "The capital of Spain is", source: nil, site: site, position: "-1", kind: .zero, answers: [" Madrid"])
        }
        // Addition honours --scale: scale 0 changes nothing, scale 1 and 3 differ.
        func added(_ scale: Float) throws -> [PromptIntervention.Candidate] {
            try run.run(prompt: "The capital of Spain is", source: "The capital of Italy is", site: site, position: "-1",
                        kind: .addition, scale: scale).after
        }
        #expect(try added(0) == same.before)
        #expect(try added(1) != added(3))
        // A real source at the last position changes the distribution; scale 1 does not.
        let swapped = try run.run(prompt: "The capital of Spain is", source: "The capital of Italy is", site: site, position: "-1", kind: .vanilla)
        #expect(swapped.before != swapped.after)
        let identity = try run.run(prompt: "The capital of Spain is", source: nil, site: site, position: "-1", kind: .scale, scale: 1)
        #expect(identity.before == identity.after && identity.before.count == 5)
        #expect(throws: ExperimentError.self) {
            try run.run(prompt: "The capital of Spain is", source: nil, site: site, position: "-1", kind: .vanilla)
        }
        #expect(throws: SiteError.layerOutOfRange(layer: 7, model: "gpt2", layers: 2)) {
            try run.run(prompt: "The capital of Spain is", source: nil, site: try Site(parsing: "7:block_output"), position: "-1", kind: .zero)
        }
        #expect(throws: ExperimentError.self) {  // head-major sites are refused with the reason
            try run.run(prompt: "The capital of Spain is", source: nil, site: try Site(parsing: "0:attention_weight"), position: "-1", kind: .zero)
        }
        #expect(throws: ExperimentError.self) {
            try run.run(prompt: "The capital of Spain is", source: "", site: site, position: "-1", kind: .vanilla)
        }
    }
}

/// Generation from text, plain and steered.
@Suite struct PromptGenerationTests {
    @Test func steeringWithScaleZeroChangesNothingAndALargeScaleDoes() throws {
        let tokenizer = try TokenizerLoader.load(path: PromptInterventionTests.tokenizerPath)
        let model = try GPT2Family.model(GPT2Family.config(vocabularySize: tokenizer.vocabularySize, positions: 32, width: 16, layers: 2, heads: 2))
        model.initializeRandomly(seed: 3, std: 0.3)
        let generation = PromptGeneration(model: model, tokenizer: tokenizer)
        let config = GenerationConfig(maxNewTokens: 6)
        let plain = try generation.generate(prompt: "The capital of Spain is", config: config)
        #expect(plain.ids.count == plain.promptLength + 6 && plain.unsteeredText == nil)
        let site = try Site(parsing: "0:block_output")
        let zero = try generation.generate(prompt: "The capital of Spain is", config: config,
                                           steering: .init(site: site, positive: "love", negative: "hate", scale: 0))
        #expect(zero.text == plain.text && zero.unsteeredText == plain.text && zero.steeringNorm == 0)
        let strong = try generation.generate(prompt: "The capital of Spain is", config: config,
                                             steering: .init(site: site, positive: "love", negative: "hate", scale: 50))
        #expect(!plain.text.isEmpty)
        #expect(strong.unsteeredText == plain.text && strong.text != plain.text && strong.steeringNorm! > 0)
    }
}

/// Activations exported to safetensors.
@Suite struct ActivationExportTests {
    @Test func activationsOfEveryPromptAndSiteAreWritten() throws {
        let tokenizer = try TokenizerLoader.load(path: PromptInterventionTests.tokenizerPath)
        let model = try GPT2Family.model(GPT2Family.config(vocabularySize: tokenizer.vocabularySize, positions: 32, width: 16, layers: 2, heads: 2))
        model.initializeRandomly(seed: 4, std: 0.3)
        let folder = NSTemporaryDirectory() + "intervene-export-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try "The capital of Spain is\n\nHello world\n".write(toFile: folder + "/prompts.txt", atomically: true, encoding: .utf8)
        let prompts = try ActivationExport.prompts(fromFile: folder + "/prompts.txt")
        #expect(prompts == ["The capital of Spain is", "Hello world"])
        try ActivationExport.write(model: model, tokenizer: tokenizer, prompts: prompts,
                                   sites: ["blocks.1.hook_resid_post", "0:head_query_output"], to: folder + "/acts.safetensors")
        let file = try SafeTensorsFile(path: folder + "/acts.safetensors")
        let n = tokenizer.encode("Hello world").ids.count
        #expect(try file.tensor("prompt_1/blocks.1.hook_resid_post").shape == [n, 16])
        #expect(try file.tensor("prompt_1/0:head_query_output").shape == [2, n, 8])
        #expect(try file.integers("prompt_1/ids").values == tokenizer.encode("Hello world").ids)
        let site = Site(layer: 1, component: .blockOutput)
        let direct = try model.runWithCache(.tokens(IndexTensor(shape: [1, n], values: tokenizer.encode("Hello world").ids)), sites: [site]).cache[site]!
        #expect((try file.tensor("prompt_1/blocks.1.hook_resid_post") - direct.squeezed(0)).abs().maxValue() == 0)
        #expect(throws: SiteError.self) {
            try ActivationExport.collect(model: model, tokenizer: tokenizer, prompts: prompts, sites: ["9:block_output"])
        }
        // Windows line endings split like Unix ones.
        try "first\r\nsecond\r\n\r\nthird".write(toFile: folder + "/crlf.txt", atomically: true, encoding: .utf8)
        #expect(try ActivationExport.prompts(fromFile: folder + "/crlf.txt") == ["first", "second", "third"])
    }
}
