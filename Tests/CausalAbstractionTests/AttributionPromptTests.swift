import Foundation
import Testing
import CausalAbstraction
import Models

/// The command line's attribution question: answers must be single tokens, a source must line
/// up with the prompt, and the metric's answers must fit it — each refusal names the argument.
@Suite struct AttributionPromptTests {
    let tokenizer: any Tokenizer

    init() throws {
        tokenizer = try TokenizerLoader.load(path: PromptInterventionTests.tokenizerPath)
    }

    func field(_ body: () throws -> Void) -> String? {
        do { try body() } catch let ExperimentError.invalid(file, _, _, _) { return file } catch { return "other: \(error)" }
        return nil
    }

    @Test func questionsResolveToTokens() throws {
        let q = try AttributionPrompt(tokenizer: tokenizer, prompt: "The capital of Spain is", source: "The capital of Spain is",
                                      target: " is", distractor: " of")
        let ids = [" is", " of"].map { tokenizer.encode($0, addSpecialTokens: false).ids[0] }
        #expect(q.metric.kind == .logitDifference(target: ids[0], distractor: ids[1]) && q.base == q.source && q.base.count == 11)
        #expect(q.label == #"logit(" is") − logit(" of")"# && q.baseTokens.count == 11)
        let loss = try AttributionPrompt(tokenizer: tokenizer, prompt: "x", source: nil, target: " is", distractor: nil, metric: .loss)
        #expect(loss.metric.kind == .loss(target: ids[0]) && loss.source == nil)
    }

    @Test func badArgumentsNameTheirFlag() throws {
        func ask(prompt: String = "The capital of Spain is", source: String? = nil, target: String = " is", distractor: String? = " of",
                 metric: AttributionPrompt.MetricChoice = .difference) throws {
            _ = try AttributionPrompt(tokenizer: tokenizer, prompt: prompt, source: source, target: target, distractor: distractor, metric: metric)
        }
        #expect(field { try ask(target: " Madrid") } == "--target")  // four tokens in this vocabulary
        #expect(field { try ask(target: "") } == "--target")
        #expect(field { try ask(distractor: " Madrid") } == "--distractor")
        #expect(field { try ask(distractor: nil) } == "--distractor")
        #expect(field { try ask(distractor: " is") } == "--distractor")
        #expect(field { try ask(metric: .loss) } == "--distractor")
        #expect(field { try ask(source: "The capital of Italy is") } == "--source")  // Italy is not three tokens as Spain is
        #expect(field { try ask(prompt: "") } == "--prompt")
        #expect(field { try ask(source: "") } == "--source")
        #expect(field { try ask(distractor: nil, metric: .logit) } == nil)
    }
}
