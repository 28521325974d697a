import Foundation
import Tensors

/// One counterfactual example at the level of a causal model: a base input, sources, the
/// variables each source sets, and the output's value without (`baseLabel`) and with
/// (`counterfactualLabel`) the interchange.
///
/// As a JSON line: `{"base": {"W": 3, …}, "sources": [{…}], "variables": [["WX"]],
/// "output": "O", "base_label": true, "counterfactual_label": false}`.
public struct CounterfactualExample: Codable, Equatable, Sendable {
    public var base: CausalSetting
    public var sources: [CausalSetting]
    /// `variables[k]` are set to their values on `sources[k]`.
    public var variables: [[String]]
    /// The output variable the labels are values of.
    public var output: String
    public var baseLabel: CausalValue
    public var counterfactualLabel: CausalValue

    public init(base: CausalSetting, sources: [CausalSetting], variables: [[String]], output: String,
                baseLabel: CausalValue, counterfactualLabel: CausalValue) {
        (self.base, self.sources, self.variables, self.output) = (base, sources, variables, output)
        (self.baseLabel, self.counterfactualLabel) = (baseLabel, counterfactualLabel)
    }

    enum CodingKeys: String, CodingKey {
        case base, sources, variables, output
        case baseLabel = "base_label"
        case counterfactualLabel = "counterfactual_label"
    }
}

/// Builds counterfactual datasets from a `CausalModel` and moves them to and from JSON lines.
public enum CounterfactualDataset {
    /// The example for `base` and `sources` with `variables` interchanged, labels read from `output`.
    public static func example(_ model: CausalModel, base: CausalSetting, sources: [CausalSetting], variables: [[String]],
                               output: String) throws -> CounterfactualExample {
        let baseLabel = try model.run(inputs: base)[output]
        guard let baseLabel else { throw CausalModelError.unknownVariable(name: output, context: "output", known: model.variables.map(\.name)) }
        let counterfactual = try model.interchange(base: base, sources: sources, variables: variables)[output]!
        return CounterfactualExample(base: base, sources: sources, variables: variables, output: output,
                                     baseLabel: baseLabel, counterfactualLabel: counterfactual)
    }

    /// `count` examples with seed `seed`: a base and `variables.count` sources drawn
    /// independently by `draw` (default uniform over the input domains), source k setting
    /// `variables[k]`; labels of `output` (default: the sole output).
    public static func sample(_ model: CausalModel, count: Int, variables: [[String]], output: String? = nil, seed: UInt64,
                              draw: ((inout RandomGenerator) -> CausalSetting)? = nil) throws -> [CounterfactualExample] {
        let out = try output ?? model.soleOutput()
        var g = RandomGenerator(seed: seed)
        func next() -> CausalSetting { draw.map { $0(&g) } ?? model.sampleInputs(using: &g) }
        return try (0..<count).map { _ in
            let base = next()
            return try example(model, base: base, sources: variables.map { _ in next() }, variables: variables, output: out)
        }
    }

    /// The examples as JSON lines (keys sorted), one example per line.
    public static func jsonLines(_ examples: [CounterfactualExample]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try examples.map { String(decoding: try encoder.encode($0), as: UTF8.self) + "\n" }.joined()
    }

    /// Writes `jsonLines(examples)` to `path`.
    public static func write(_ examples: [CounterfactualExample], to path: String) throws {
        try Data(jsonLines(examples).utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// Reads JSON lines (blank lines skipped); a bad line throws `malformedJSON` naming its
    /// line number. With `model`, every example is checked against it: known variables,
    /// values in their domains and labels equal to the model's.
    public static func read(jsonLines text: String, model: CausalModel? = nil) throws -> [CounterfactualExample] {
        var examples: [CounterfactualExample] = []
        for (n, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            guard !line.allSatisfy(\.isWhitespace) else { continue }
            let example: CounterfactualExample
            do { example = try JSONDecoder().decode(CounterfactualExample.self, from: Data(line.utf8)) } catch let error as DecodingError {
                throw CausalModelError.malformedJSON(reason: "line \(n + 1): \(CausalModel.describe(error))")
            }
            guard !example.sources.isEmpty, example.sources.count == example.variables.count else {
                throw CausalModelError.malformedJSON(reason: "line \(n + 1): sources: \(example.sources.count) sources for \(example.variables.count) variable lists; "
                                                     + "expected at least one source and one variable list per source")
            }
            if let model {
                let expected = try self.example(model, base: example.base, sources: example.sources, variables: example.variables, output: example.output)
                guard expected == example else {
                    throw CausalModelError.malformedJSON(reason: "line \(n + 1): labels \(example.baseLabel)/\(example.counterfactualLabel) disagree with the model's \(expected.baseLabel)/\(expected.counterfactualLabel)")
                }
            }
            examples.append(example)
        }
        return examples
    }

    /// Reads a JSON-lines file (see `read(jsonLines:model:)`).
    public static func read(contentsOf path: String, model: CausalModel? = nil) throws -> [CounterfactualExample] {
        guard let data = FileManager.default.contents(atPath: path) else { throw CausalModelError.malformedJSON(reason: "\(path): not a readable file") }
        return try read(jsonLines: String(decoding: data, as: UTF8.self), model: model)
    }
}
