import Foundation
import Testing
@testable import CausalAbstraction
import Intervene
import Models
import Tensors

/// The GPT-2-style byte-level BPE of the golden set (1000 tokens; GPT-2 adds no BOS), from the
/// first GOLDEN_PATH folder that has bpe-tokenizer/, else ../shared/golden beside the repository.
let goldenBPEPath: String = {
    var root = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { root.deleteLastPathComponent() }
    let folders = (ProcessInfo.processInfo.environment["GOLDEN_PATH"] ?? "").split(separator: ":").map(String.init) + [root.path + "/../shared/golden"]
    let paths = folders.map { $0 + "/bpe-tokenizer/tokenizer.json" }
    return paths.first { FileManager.default.fileExists(atPath: $0) } ?? paths.last!
}()
let goldenBPEResult = Result<any Tokenizer, any Error> { try TokenizerLoader.load(path: goldenBPEPath) }
var goldenBPE: any Tokenizer { get throws { try goldenBPEResult.get() } }

/// "The capital of Spain is" → T he Ġc ap it al Ġof ĠS pa in Ġis (11 tokens).
let spainIds = [52, 267, 277, 321, 379, 293, 330, 440, 393, 261, 309]
/// "The capital of Italy is" → T he Ġc ap it al Ġof ĠI t al y Ġis (12 tokens).
let italyIds = [52, 267, 277, 321, 379, 293, 330, 425, 84, 293, 89, 309]
/// " Rome" → Ġ R o me.
let romeIds = [221, 50, 79, 951]

func writeTemporary(_ text: String, suffix: String = ".jsonl") -> String {
    let path = NSTemporaryDirectory() + "text-examples-\(UUID().uuidString)\(suffix)"
    _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
    return path
}

@Suite struct TextExampleTests {
    func load(_ lines: String..., classes: Int? = 1000) throws -> [InterventionExample] {
        try InterventionExample.load(jsonl: writeTemporary(lines.joined(separator: "\n")), classes: classes, tokenizer: try goldenBPE)
    }

    /// The error a one-line file gives, with the path replaced by "F".
    func error(_ line: String, classes: Int? = 1000, withTokenizer: Bool = true) -> ExperimentError? {
        let path = writeTemporary(line)
        do { _ = try InterventionExample.load(jsonl: path, classes: classes, tokenizer: withTokenizer ? try goldenBPE : nil) } catch let e as ExperimentError {
            switch e {
            case .invalid(let file, let field, let value, let expected):
                return .invalid(file: file.replacingOccurrences(of: path, with: "F"), field: field, value: value, expected: expected)
            case .unknownKey(let file, let key, let keyPath, let allowed):
                return .unknownKey(file: file.replacingOccurrences(of: path, with: "F"), key: key, path: keyPath, allowed: allowed)
            case .textWithoutTokenizer(let file, let field):
                return .textWithoutTokenizer(file: file.replacingOccurrences(of: path, with: "F"), field: field)
            }
        } catch { Issue.record("unexpected \(error)") }
        return nil
    }

    @Test func textInputsAndLabelsAreTokenized() throws {
        let examples = try load(#"{"base": "The capital of Spain is", "source": "The capital of Italy is", "positions": ["Spain", -1], "source_positions": ["Italy", 0], "label": " Rome"}"#,
                                #"{"base": [5, 6, 7], "source": "The capital of Italy is", "positions": [-3], "source_positions": [{"text": "al", "occurrence": 2}], "label": 4}"#)
        #expect(examples[0].base == .tokens(spainIds) && examples[0].source == .tokens(italyIds))
        #expect(examples[0].basePositions == [9, 10] && examples[0].sourcePositions == [10, 0])
        #expect(examples[0].label == 221 && examples[0].answerTokens == romeIds && examples[0].answer == romeIds)
        #expect(examples[1].basePositions == [0] && examples[1].sourcePositions == [9])  // "al" of "Italy", not of "capital"
        #expect(examples[1].label == 4 && examples[1].answerTokens == nil && examples[1].answer == [4])
    }

    /// Indices, negative indices and substrings, each resolved against the example's own tokens.
    @Test func positionsResolveByIndexNegativeIndexAndSubstring() throws {
        let spain = TokenizedText("The capital of Spain is", tokenizer: try goldenBPE)
        func at(_ p: TokenPosition, _ text: TokenizedText? = spain, length: Int = 11) -> Int? { p.resolve(length: length, text: text) }
        #expect(at(.index(0)) == 0 && at(.index(10)) == 10 && at(.index(11)) == nil)
        #expect(at(.index(-1)) == 10 && at(.index(-11)) == 0 && at(.index(-12)) == nil)
        #expect(at(.index(-1), nil, length: 3) == 2)
        #expect(at(.substring("Spain", occurrence: 1)) == 9)    // ĠS pa in: the last overlapping token
        #expect(at(.substring("pi", occurrence: 1)) == 4)       // split over "ap" and "it": the second
        #expect(at(.substring("Sp", occurrence: 1)) == 8)       // over "ĠS" and "pa"
        #expect(at(.substring(" capital", occurrence: 1)) == 5)
        #expect(at(.substring("Madrid", occurrence: 1)) == nil && at(.substring("Spain", occurrence: 2)) == nil)
        #expect(at(.substring("Spain", occurrence: 1), nil) == nil)
        let twice = TokenizedText("The capital of Spain is Spain", tokenizer: try goldenBPE)
        #expect(at(.substring("Spain", occurrence: 2), twice, length: 14) == 13)
        #expect(at(.substring("a", occurrence: 2), twice, length: 14) == 5)  // capital's second "a", in "al"
        #expect(at(.substring("a", occurrence: 3), twice, length: 14) == 8)  // Spain's, in "pa"
        #expect(TokenPosition(json: .string("Spain")) == .substring("Spain", occurrence: 1))
        #expect(TokenPosition(json: try JSONValue.parse(#"{"text": "Spain", "occurrence": 2}"#)) == .substring("Spain", occurrence: 2))
        #expect(TokenPosition(json: try JSONValue.parse(#"{"text": "Spain", "nth": 2}"#)) == nil)
        #expect(TokenPosition(json: .string("")) == nil && TokenPosition(json: .bool(true)) == nil)
    }

    @Test func badPositionsNameTheLineFieldValueAndTokens() {
        let tokens = #"the base "The capital of Spain is" has 11 tokens: 0 "T", 1 "he", 2 " c", 3 "ap", 4 "it", 5 "al", 6 " of", 7 " S", 8 "pa", 9 "in", 10 " is""#
        func line(_ positions: String, source: String = "") -> String {
            #"{"base": "The capital of Spain is", "source": "The capital of Italy is", "positions": \#(positions)\#(source), "label": " Rome"}"#
        }
        #expect(error(line("[11]")) == .invalid(file: "F:1", field: "positions", value: "11", expected: "a token index in -11..<11; " + tokens))
        #expect(error(line("[-12]")) == .invalid(file: "F:1", field: "positions", value: "-12", expected: "a token index in -11..<11; " + tokens))
        #expect(error(line(#"["Madrid"]"#)) == .invalid(file: "F:1", field: "positions", value: #""Madrid""#, expected: "a substring that occurs in the base text; " + tokens))
        #expect(error(line(#"[{"text": "Spain", "occurrence": 2}]"#))
                == .invalid(file: "F:1", field: "positions", value: #"{"text":"Spain","occurrence":2}"#, expected: "a substring that occurs at least 2 times in the base text; " + tokens))
        #expect(error(line("[true]")) == .invalid(file: "F:1", field: "positions", value: "true", expected: TokenPosition.forms))
        #expect(error(line("[]")) == .invalid(file: "F:1", field: "positions", value: "[]", expected: "a non-empty list of positions, each " + TokenPosition.forms))
        guard case .invalid("F:1", "source_positions", #""Spain""#, let expected)? = error(line(#"["Spain"]"#, source: #", "source_positions": ["Spain"]"#)) else {
            Issue.record("expected a source_positions error"); return
        }
        #expect(expected.hasPrefix(#"a substring that occurs in the source text; the source "The capital of Italy is" has 12 tokens: 0 "T""#))
        #expect(error(#"{"base": [1, 2, 3], "source": [4, 5, 6], "positions": ["Spain"], "label": 0}"#)
                == .invalid(file: "F:1", field: "positions", value: #""Spain""#, expected: "a token index in -3..<3 (substrings need a text base); the base has 3 token ids"))
        #expect(error(#"{"base": "The capital of Italy is", "source": "The capital of Spain is", "positions": [-1], "label": " Rome"}"#)
                == .invalid(file: "F:1", field: "source_positions", value: "missing",
                            expected: "source positions: the default, the base's indices [11], includes 11; " + tokens.replacingOccurrences(of: "the base", with: "the source")))
    }

    @Test func badLabelsAndInputsAreTypedErrors() {
        let prompt = #""base": "The capital of Spain is", "source": "The capital of Italy is", "positions": [-1]"#
        #expect(error("{\(prompt), \"label\": \" Rome\"}", withTokenizer: false) == .textWithoutTokenizer(file: "F:1", field: "base"))
        #expect(error(#"{"base": [1], "source": [2], "positions": [0], "label": " Rome"}"#, withTokenizer: false) == .textWithoutTokenizer(file: "F:1", field: "label"))
        #expect(ExperimentError.textWithoutTokenizer(file: "F:1", field: "base").description
                == "F:1: field 'base' is text, which needs the model's tokenizer, and there is none (give token ids, or a model with a tokenizer.json)")
        #expect(error("{\(prompt), \"label\": \"\"}")
                == .invalid(file: "F:1", field: "label", value: #""""#, expected: "a text of at least one token, each a class index in 0..<1000 (the classes of the model's output); it tokenizes to []"))
        #expect(error("{\(prompt), \"label\": \" Rome\"}", classes: 900)
                == .invalid(file: "F:1", field: "label", value: #"" Rome""#, expected: "a text of at least one token, each a class index in 0..<900 (the classes of the model's output); it tokenizes to [221, 50, 79, 951]"))
        #expect(error("{\(prompt), \"label\": 221, \"answer_tokens\": [50, 79]}")
                == .invalid(file: "F:1", field: "answer_tokens", value: "[50,79]", expected: "a list of token ids, each a class index in 0..<1000 (the classes of the model's output), whose first is the label 221"))
        #expect(error(#"{"base": "", "source": [1], "positions": [0], "label": 0}"#) == .invalid(file: "F:1", field: "base", value: #""""#, expected: "a text of at least one token"))
        #expect(error("{\(prompt), \"label\": 1, \"postions\": [0]}")
                == .unknownKey(file: "F:1", key: "postions", path: "postions", allowed: InterventionExample.jsonKeys))
        #expect(error("[1, 2]") == .invalid(file: "F:1", field: "(example)", value: "an array", expected: "a JSON object with keys answer_tokens, base, label, positions, source, source_positions, sources"))
    }

    /// Text inputs are written back as the ids they became, with the answer's tokens, and load
    /// again without a tokenizer.
    @Test func textExamplesWriteBackAsIds() throws {
        let examples = try load(#"{"base": "The capital of Spain is", "source": "The capital of Italy is", "positions": ["Spain"], "source_positions": ["Italy"], "label": " Rome"}"#)
        #expect(examples[0].jsonLine == "{\"base\": \(spainIds), \"source\": \(italyIds), \"positions\": [9], \"source_positions\": [10], \"label\": 221, \"answer_tokens\": \(romeIds)}")
        #expect(try InterventionExample.load(jsonl: writeTemporary(examples[0].jsonLine)) == examples)
    }
}
