import Foundation
import Intervene
import Models
import Tensors

extension ExperimentRunner {
    /// The tokenizer text data is tokenized with: `tokenizer` when set (a loaded model's),
    /// else `model.tokenizer` of the experiment, else the checkpoint folder's tokenizer.json
    /// when there is one; nil otherwise. A tokenizer file that cannot be read throws
    /// `ExperimentError` naming `model.tokenizer`.
    public func resolvedTokenizer() throws -> (any Tokenizer)? {
        if let tokenizer { return tokenizer }
        let spec = experiment.model
        guard let path = spec.tokenizer ?? spec.path.map({ $0 + "/tokenizer.json" }) else { return nil }
        if spec.tokenizer == nil && !FileManager.default.fileExists(atPath: path) { return nil }
        do { return try TokenizerLoader.load(path: path) } catch {
            throw invalid("model.tokenizer", quoted(path), "a tokenizer.json this package reads (\(error))")
        }
    }

    /// Training and test examples: a built-in task, or for each of `data.train` and `data.test`
    /// a .jsonl file or a list of examples written inline (see `InterventionExample`). Text is
    /// tokenized with `tokenizer`, else `resolvedTokenizer()` (loaded only when an example has
    /// text). With `classes` (see `InterventionExample.labelClasses(of:)`), a label outside
    /// 0..<classes throws naming its file and line (or its path in the experiment file).
    public func data(classes: Int? = nil, tokenizer: (any Tokenizer)? = nil) throws
        -> (train: [InterventionExample], test: [InterventionExample], description: String) {
        let spec = experiment.data
        if spec.builtin == nil, let train = spec.train?.value, train.stringValue != nil || train.arrayValue != nil {
            guard let test = spec.test?.value, test.stringValue != nil || test.arrayValue != nil else {
                throw invalid("data.test", spec.test?.value.serialized() ?? "missing", "a .jsonl file of test examples, or a list of them")
            }
            let provider = TokenizerProvider { try tokenizer ?? self.resolvedTokenizer() }
            let (trainExamples, trainName) = try examples(train, field: "data.train", classes: classes, tokenizer: provider)
            let (testExamples, testName) = try examples(test, field: "data.test", classes: classes, tokenizer: provider)
            return (trainExamples, testExamples, "\(trainName) / \(testName)")
        }
        return try builtinData()
    }

    /// The examples of a .jsonl path or an inline list, and how provenance names them.
    func examples(_ value: JSONValue, field: String, classes: Int?, tokenizer: TokenizerProvider) throws -> ([InterventionExample], String) {
        if let path = value.stringValue {
            return (try InterventionExample.load(jsonl: path, classes: classes, tokenizer: tokenizer), "jsonl:\(path)")
        }
        let examples = try InterventionExample.load(inline: value, file: file, field: field, classes: classes, tokenizer: tokenizer)
        return (examples, "inline:\(examples.count) examples")
    }

    /// The built-in hierarchical-equality task's examples.
    func builtinData() throws -> (train: [InterventionExample], test: [InterventionExample], description: String) {
        let spec = experiment.data
        guard spec.builtin == "hierarchical_equality" else {
            throw invalid("data.builtin", spec.builtin.map { "\"\($0)\"" } ?? "missing",
                          "hierarchical_equality, or \"train\"/\"test\" .jsonl files or lists of examples")
        }
        let variableName = spec.variable ?? "left_equality"
        guard let variable = HierarchicalEqualityTask.Variable(rawValue: variableName) else {
            throw invalid("data.variable", "\"\(variableName)\"", "left_equality, right_equality")
        }
        func count(_ v: JSONCodable?, _ field: String, _ fallback: Int) throws -> Int {
            guard let v else { return fallback }
            guard let n = v.value.intValue, n > 0 else { throw invalid(field, v.value.serialized(), "a positive number of examples") }
            return n
        }
        let task = HierarchicalEqualityTask(seed: experiment.seed)
        let train = task.sample(try count(spec.train, "data.train", 10_000), split: .train, seed: experiment.seed)
        let test = task.sample(try count(spec.test, "data.test", 10_000), split: .test, seed: experiment.seed)
        return (task.interventionExamples(train, variable: variable), task.interventionExamples(test, variable: variable),
                "builtin:hierarchical_equality \(variableName)")
    }
}
