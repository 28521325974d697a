import Foundation
import Intervene
import Models
import Tensors

/// A steering vector from contrasting prompts (Turner et al. 2023, activation addition):
///
///     V = (1/P) Σ_p  h_site(positive_p) − h_site(negative_p)
///
/// where h_site(x) is the activation of prompt x at `site`, a (positions, width) site such as
/// `6:block_output` (the residual stream after block 6), and `reduction` says how positions
/// become rows of V:
///
/// - `.aligned` (the paper): every prompt of every pair is right-padded with the padding token
///   (" " by default, as the paper pads) to the longest prompt's length n, so h is (n, d) and V
///   is (n, d): row i is added at prompt position i.
/// - `.lastToken`: h is the activation at each prompt's last token, V is (1, d).
/// - `.meanOverPositions`: h is the mean over each prompt's positions, V is (1, d).
///
/// Prompts are tokenized with the tokenizer's special tokens, as `intervene generate` tokenizes
/// the prompt being steered, so aligned rows meet the same positions. `intervenable` turns V and
/// a coefficient into a `SteeringIntervention` on an `IntervenableModel` that saves as an
/// ordinary bundle; `SteeringVector.generate` applies such a model (freshly built or loaded from
/// a bundle) during generation, at the positions its placement names.
public struct SteeringVector {
    /// How the positions of a prompt's activation become rows of the vector.
    public enum Reduction: String, Sendable, CaseIterable {
        case aligned
        case lastToken = "last_token"
        case meanOverPositions = "mean"
    }

    /// One contrasting pair: V moves activations from `negative` towards `positive`.
    public struct Pair: Sendable, Equatable {
        public var positive: String
        public var negative: String
        public init(positive: String, negative: String) {
            self.positive = positive
            self.negative = negative
        }
    }

    /// The site the vector was read at (negative layers resolved).
    public let site: Site
    /// V, shape (positions, width).
    public let vector: Tensor
    /// How positions were reduced.
    public let reduction: Reduction
    /// The pairs V averages over.
    public let pairs: [Pair]
    /// Token ids of each pair's prompts as run (padded for `.aligned`).
    public let tokens: [(positive: [Int], negative: [Int])]

    /// Reads the activations of every pair at `site` and averages their differences (see the
    /// type's documentation). Throws `SteeringError` for no pairs, a prompt without tokens, a
    /// padding text that is not one token, or a site whose activation is not
    /// (batch, positions, width); `SiteError` for a site the model does not have.
    public static func compute(model: any HookableModel, tokenizer: any Tokenizer, pairs: [Pair], site: Site,
                               reduction: Reduction = .aligned, padding: String = " ") throws -> SteeringVector {
        guard !pairs.isEmpty else { throw SteeringError.noPairs }
        let resolved = try checkedSite(site, model: model)
        var encoded: [(positive: [Int], negative: [Int])] = []
        for (i, pair) in pairs.enumerated() {
            func ids(_ text: String, _ field: String) throws -> [Int] {
                let ids = tokenizer.encode(text, addSpecialTokens: true).ids
                guard !ids.isEmpty else { throw SteeringError.emptyPrompt(field: "\(field) of pair \(i + 1)", text: text) }
                return ids
            }
            encoded.append((try ids(pair.positive, "positive"), try ids(pair.negative, "negative")))
        }
        if reduction == .aligned {
            let pad = tokenizer.encode(padding, addSpecialTokens: false).ids
            guard pad.count == 1 else { throw SteeringError.paddingNotOneToken(text: padding, tokens: pad.count) }
            let length = encoded.map { max($0.positive.count, $0.negative.count) }.max()!
            func padded(_ ids: [Int]) -> [Int] { ids + Array(repeating: pad[0], count: length - ids.count) }
            encoded = encoded.map { (padded($0.positive), padded($0.negative)) }
        }
        var sum: Tensor?
        for (positive, negative) in encoded {
            let difference = try reduced(model, positive, resolved, reduction) - reduced(model, negative, resolved, reduction)
            sum = sum.map { $0 + difference } ?? difference
        }
        let vector = pairs.count == 1 ? sum! : sum! * (1 / Float(pairs.count))
        return SteeringVector(site: resolved, vector: vector.contiguous(), reduction: reduction, pairs: pairs, tokens: encoded)
    }

    /// The site with its layer resolved, checked to exist and to be a (batch, positions, width)
    /// activation.
    static func checkedSite(_ site: Site, model: any HookableModel) throws -> Site {
        let resolved = try model.siteTable.resolved(site)
        let spec = try model.siteTable.spec(for: resolved)
        guard spec.view == .whole, !spec.perTimeStep else {
            throw SteeringError.unsuitableSite(site: "\(site.layer):\(site.component.rawValue)", shape: spec.shape)
        }
        return resolved
    }

    /// h_site of one prompt: (n, d) for `.aligned`, (1, d) otherwise.
    static func reduced(_ model: any HookableModel, _ ids: [Int], _ site: Site, _ reduction: Reduction) throws -> Tensor {
        let (_, cache) = try Tensor.withoutGradients {
            try model.runWithCache(.tokens(IndexTensor(shape: [1, ids.count], values: ids)), sites: [site])
        }
        guard let activation = cache[site], activation.rank == 3, activation.shape[0] == 1 else {
            throw SteeringError.unsuitableSite(site: "\(site.layer):\(site.component.rawValue)", shape: "\(cache[site]?.shape ?? [])")
        }
        let rows = activation.reshaped([activation.shape[1], activation.shape[2]])
        switch reduction {
        case .aligned: return rows.contiguous()
        case .lastToken: return rows.narrowed(0, start: ids.count - 1, length: 1).contiguous()
        case .meanOverPositions: return rows.mean(axis: 0, keepDims: true)
        }
    }

    /// ‖V‖ (Frobenius norm over all rows).
    public var norm: Float { (vector * vector).sum().item.squareRoot() }

    /// An `IntervenableModel` adding `coefficient` · V at the vector's site, with `placement`
    /// recorded for generation (`.allPositions` needs a one-row vector). Throws
    /// `SteeringError.invalidCoefficient` for a coefficient that is not finite.
    public func intervenable(model: any HookableModel, coefficient: Float,
                             placement: SteeringIntervention.Placement = .prompt) throws -> IntervenableModel {
        guard coefficient.isFinite else { throw SteeringError.invalidCoefficient(value: "\(coefficient)") }
        guard placement == .prompt || vector.shape[0] == 1 else {
            throw SteeringError.placementNeedsOneRow(placement: placement.rawValue, positions: vector.shape[0])
        }
        let representation = RepresentationConfig(layer: site.layer, component: site.component, maxNumberOfUnits: vector.shape[0])
        let intervention = try SteeringIntervention(vector: vector, coefficient: coefficient, placement: placement)
        return try IntervenableModel(config: IntervenableConfig(representation, interventionType: .steering), model: model,
                                     prebuilt: [0: intervention])
    }

    /// The pairs and reduction as a JSON string (a bundle's provenance data).
    public var provenanceData: String {
        JSONValue.object(JSONObject([
            ("reduction", .string(reduction.rawValue)),
            ("pairs", .array(pairs.map { .object(JSONObject([("positive", .string($0.positive)), ("negative", .string($0.negative))])) })),
        ])).serialized()
    }
}
