import Foundation
import Intervene
import Models
import Tensors

/// Text generation from a prompt, plain or steered by an activation-addition vector.
public struct PromptGeneration {
    /// An activation-addition steering vector: scale · (h(positive) − h(negative)) at `site`,
    /// read at the last token of each steering prompt, added at every prompt position and at
    /// every generated token. Use steering prompts of a few tokens: a one-token prompt is read at
    /// position 0, where many models carry massive activations that swamp any direction.
    public struct Steering: Sendable {
        public var site: Site
        public var positive: String
        public var negative: String?
        public var scale: Float

        public init(site: Site, positive: String, negative: String? = nil, scale: Float = 4) {
            self.site = site
            self.positive = positive
            self.negative = negative
            self.scale = scale
        }
    }

    /// What was generated.
    public struct Result {
        /// Prompt and new tokens.
        public let ids: [Int]
        /// Prompt tokens.
        public let promptLength: Int
        /// The new text (decoded new tokens).
        public let text: String
        /// The same without steering (when steering was asked for).
        public let unsteeredText: String?
        /// ‖steering vector‖ (when steering was asked for).
        public let steeringNorm: Float?
    }

    public let model: any CausalLanguageModel
    public let tokenizer: any Tokenizer

    public init(model: any CausalLanguageModel, tokenizer: any Tokenizer) {
        self.model = model
        self.tokenizer = tokenizer
    }

    /// Generates from `prompt` with `config`; with `steering`, also returns the unsteered text.
    public func generate(prompt: String, config: GenerationConfig, steering: Steering? = nil) throws -> Result {
        let ids = tokenizer.encode(prompt).ids
        guard !ids.isEmpty else {
            throw ExperimentError.invalid(file: "--prompt", field: "prompt", value: "\"\(prompt)\"", expected: "text with at least one token")
        }
        let input = IndexTensor(shape: [1, ids.count], values: ids)
        guard let steering else {
            let out = try Tensor.withoutGradients { try Generator.generate(model, prompt: input, config: config) }
            return result(out, promptLength: ids.count, unsteered: nil, norm: nil)
        }
        let vector = try steeringVector(steering)
        let site = try model.siteTable.resolved(steering.site)
        let representation = RepresentationConfig(layer: site.layer, component: site.component, maxNumberOfUnits: ids.count,
                                                  sourceRepresentation: vector.scalars)
        let intervenable = try IntervenableModel(config: IntervenableConfig(representation, interventionType: .addition), model: model)
        let out = try Tensor.withoutGradients {
            try intervenable.generate(prompt: input, unitLocations: .base([Array(0..<ids.count)]),
                                      timing: .promptAndGeneratedTokens { _ in true }, config: config, outputOriginal: true)
        }
        let plain = out.original.map { decodeNew($0.sequences[0], after: ids.count, count: $0.generatedCounts[0]) }
        return result(out.intervened, promptLength: ids.count, unsteered: plain, norm: (vector * vector).sum().item.squareRoot())
    }

    /// scale · (h(positive) − h(negative)) at the steering site, last token of each prompt.
    func steeringVector(_ s: Steering) throws -> Tensor {
        func activation(_ text: String) throws -> Tensor {
            let ids = tokenizer.encode(text).ids
            guard !ids.isEmpty else {
                throw ExperimentError.invalid(file: "--steer", field: "steering prompt", value: "\"\(text)\"", expected: "text with at least one token")
            }
            let (_, cache) = try Tensor.withoutGradients {
                try model.runWithCache(.tokens(IndexTensor(shape: [1, ids.count], values: ids)), sites: [s.site])
            }
            guard let a = cache[s.site], a.rank == 3 else {
                throw ExperimentError.invalid(file: "--steer-site", field: "site", value: "\(s.site)", expected: "a site of shape (batch, positions, width)")
            }
            return a.atPosition(-1).reshaped([a.shape[2]])
        }
        var vector = try activation(s.positive)
        if let negative = s.negative { vector = vector - (try activation(negative)) }
        return vector * s.scale
    }

    func result(_ out: GenerationResult, promptLength: Int, unsteered: String?, norm: Float?) -> Result {
        Result(ids: out.sequences[0], promptLength: promptLength,
               text: decodeNew(out.sequences[0], after: promptLength, count: out.generatedCounts[0]), unsteeredText: unsteered, steeringNorm: norm)
    }

    func decodeNew(_ sequence: [Int], after promptLength: Int, count: Int) -> String {
        tokenizer.decode(Array(sequence[promptLength..<(promptLength + count)]), skipSpecialTokens: true)
    }
}
