import CausalAbstraction
import Foundation
import FuzzSupport
import Models
import Tensors

// Input: an experiment file (JSON). After decoding, the training options, the validation
// fraction and the sweep plan are derived; inline examples are parsed (text tokenized with a
// fixture tokenizer). Nothing is read from disk and no model is built or trained.

let tokenizer: (any Tokenizer)? = try? TokenizerLoader.load(
    path: Fuzz.repository + "/Tests/Fixtures/tokenizers/bpe-qwen2/tokenizer.json")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    precondition(tokenizer != nil, "the fixture tokenizer Tests/Fixtures/tokenizers/bpe-qwen2/tokenizer.json did not load")
    let bytes = Data(Fuzz.bytes(data, size))
    guard let experiment = try? Experiment.decode(bytes, file: "fuzz.json") else { return 0 }
    let runner = ExperimentRunner(experiment: experiment, file: "fuzz.json")
    _ = try? runner.options()
    _ = try? runner.validationFraction()
    if experiment.sweep != nil { _ = try? SweepPlan(experiment: experiment, file: "fuzz.json", hash: "fnv1a64:0000000000000000") }
    // Only inline examples: a string would name a .jsonl file to read.
    if experiment.data.builtin == nil, experiment.data.train?.value.arrayValue != nil, experiment.data.test?.value.arrayValue != nil {
        _ = try? runner.data(classes: 4, tokenizer: tokenizer)
    }
    return 0
}
