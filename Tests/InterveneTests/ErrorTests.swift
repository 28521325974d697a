import Foundation
import Testing
@testable import Intervene
import Models
import Tensors

/// Every bad input gives a thrown, typed error that names the field and what is allowed.
@Suite struct ErrorTests {
    let model = tinyGPT2()

    func field(_ body: () throws -> Void) -> String? {
        do { try body() } catch let ConfigurationError.invalidField(field, _, allowed) { return field + " | " + allowed } catch {
            return "other: \(error)"
        }
        return nil
    }

    @Test func badLayerComponentAndUnit() {
        let layer = field { _ = try IntervenableModel(config: IntervenableConfig(RepresentationConfig(layer: 5, component: .blockOutput), interventionType: .vanilla), model: model) }
        #expect(layer == "representations[0].layer | 0..<2 for gpt2")
        let component = field { _ = try IntervenableModel(config: IntervenableConfig(RepresentationConfig(layer: 0, component: "blok_output"), interventionType: .vanilla), model: model) }
        #expect(component?.hasPrefix("representations[0].component | ") == true)
        #expect(component?.contains("block_output") == true)
        let unit = field { _ = try IntervenableModel(config: IntervenableConfig(RepresentationConfig(layer: 0, component: .headQueryOutput, unit: .position), interventionType: .vanilla), model: model) }
        #expect(unit?.hasPrefix("representations[0].unit") == true)
        let time = field { _ = try IntervenableModel(config: IntervenableConfig(RepresentationConfig(layer: 0, component: .blockOutput, unit: .timeStep), interventionType: .vanilla), model: model) }
        #expect(time?.hasPrefix("representations[0].unit") == true)
        #expect(throws: InterventionError.self) {
            try IntervenableModel(config: IntervenableConfig(RepresentationConfig(layer: 0, component: .blockOutput), interventionType: InterventionType("VanillaInterventon")), model: model)
        }
    }

    @Test func badPositionHeadAndSubspace() throws {
        let im = try IntervenableModel(config: IntervenableConfig(RepresentationConfig(layer: 0, component: .blockOutput), interventionType: .vanilla), model: model)
        let position = field { _ = try im.forward(base: .tokens(baseTokens), sources: [.tokens(sourceTokens)], unitLocations: .position(6, batchSize: 2)) }
        #expect(position == "unit_locations[0] position of example 0 | 0..<6 for block_output")
        let heads = try IntervenableModel(config: IntervenableConfig(RepresentationConfig(layer: 0, component: .headQueryOutput, unit: .headPosition), interventionType: .vanilla), model: model)
        let head = field {
            _ = try heads.forward(base: .tokens(baseTokens), sources: [.tokens(sourceTokens)],
                                  unitLocations: UnitLocations([InterventionLocations(source: nil, base: [.heads([2], positions: [0]), .heads([0], positions: [0])])]))
        }
        #expect(head == "unit_locations[0] head of example 0 | 0..<2 for head_query_output")
        #expect(throws: InterventionError.subspaceOutOfRange(intervention: "VanillaIntervention", example: 1, index: 16, width: 16)) {
            try im.forward(base: .tokens(baseTokens), sources: [.tokens(sourceTokens)], unitLocations: .position(1, batchSize: 2), subspaces: [[[0], [16]]])
        }
        let partitioned = try IntervenableModel(config: IntervenableConfig(RepresentationConfig(layer: 0, component: .blockOutput, subspacePartition: [[0, 8], [8, 16]]),
                                                                           interventionType: .vanilla), model: model)
        let id = field { _ = try partitioned.forward(base: .tokens(baseTokens), sources: [.tokens(sourceTokens)], unitLocations: .position(1, batchSize: 2), subspaces: [[[0], [2]]]) }
        #expect(id == "subspaces[0][1] | partition ids 0..<2")
        #expect(field { _ = try IntervenableModel(config: IntervenableConfig(RepresentationConfig(layer: 0, component: .blockOutput, subspacePartition: [[0, 20]]),
                                                                                interventionType: .vanilla), model: model) }?.hasPrefix("representations[0].subspace_partition[0]") == true)
    }

    @Test func batchMismatchAndMissingSource() throws {
        let im = try IntervenableModel(config: IntervenableConfig(RepresentationConfig(layer: 0, component: .blockOutput), interventionType: .vanilla), model: model)
        #expect(field { _ = try im.forward(base: .tokens(baseTokens), sources: [.tokens(ids([[1, 2, 3, 4, 5, 6]]))], unitLocations: .position(1, batchSize: 2)) }
                == "sources[0] | the base batch size 2")
        #expect(field { _ = try im.forward(base: .tokens(baseTokens), sources: [.tokens(sourceTokens)], unitLocations: .position(1, batchSize: 3)) }
                == "unit_locations[0].source | batch size 2")
        #expect(throws: InterventionError.self) { try im.forward(base: .tokens(baseTokens), unitLocations: .position(1, batchSize: 2)) }
    }

    @Test func interventionDimensionMustFitItsSite() throws {
        let wrong = RotatedSpaceIntervention(embedDimension: 8, seed: 1)
        let im = try IntervenableModel(config: IntervenableConfig(RepresentationConfig(layer: 0, component: .blockOutput), interventionType: .rotatedSpace),
                                       model: model, prebuilt: [0: wrong])
        do {
            _ = try im.forward(base: .tokens(baseTokens), sources: [.tokens(sourceTokens)], unitLocations: .position(1, batchSize: 2))
            Issue.record("expected a dimension error")
        } catch let InterventionError.dimensionMismatch(_, field, expected, actual) {
            #expect(field.contains("block_output"))
            #expect(expected == 8 && actual == 16)
        }
        #expect(field { _ = try IntervenableModel(config: IntervenableConfig(RepresentationConfig(layer: 0, component: .blockOutput, sourceRepresentation: [1, 2]), interventionType: .vanilla), model: model) }
                == "representations[0].source_representation | a vector of 16 (the per-unit dimension of block_output)")
        // The rank's upper bound is the low-rank intervention's (an autoencoder's latent count may exceed the width).
        #expect(throws: InterventionError.invalidHyperparameter(type: "LowRankRotatedSpaceIntervention", field: "low_rank_dimension", value: "40",
                                                                allowed: "an integer in 1...16")) {
            try IntervenableModel(config: IntervenableConfig(RepresentationConfig(layer: 0, component: .blockOutput, lowRankDimension: 40),
                                                             interventionType: .lowRankRotatedSpace), model: model)
        }
        #expect(field { _ = try IntervenableModel(config: IntervenableConfig(RepresentationConfig(layer: 0, component: .blockOutput, lowRankDimension: 0), interventionType: .lowRankRotatedSpace), model: model) }
                == "representations[0].low_rank_dimension | an integer ≥ 1")
    }

    @Test func malformedPyveneJSONIsNamed() throws {
        let config = IntervenableConfig(RepresentationConfig(layer: 0, component: .blockOutput), interventionType: .vanilla)
        #expect(field { _ = try UnitLocations(pyvene: try JSONValue.parse(#"{"sources->base": [[[[1]]]]}"#), config: config, batchSize: 2) }
                == "unit_locations.sources->base | [sources, base]")
        #expect(field { _ = try UnitLocations(pyvene: try JSONValue.parse(#"{"source": 3}"#), config: config, batchSize: 2) }?.hasPrefix("unit_locations |") == true)
        #expect(throws: ConfigurationError.self) { try IntervenableConfig.decode(json: #"{"representations": [{"layer": 0, "component": "block_output"}], "mode": "diagonal"}"#) }
        #expect(throws: ConfigurationError.self) { try IntervenableConfig.decode(json: #"{"representations": [{"component": "block_output"}]}"#) }
        #expect(throws: ConfigurationError.self) { try IntervenableConfig.decode(json: #"{"representations": [{"layer": 0, "component": "block_output", "unit": "token"}]}"#) }
    }

    /// Hyperparameters that used to be ignored or to trap: a misspelled name, an embed_dim that
    /// is not the site's, more PCA components or a larger rank than the block has; a recurrent
    /// base step past the sequence; a negative noise seed saved to a bundle.
    @Test func misspelledOrOversizedHyperparametersAreNamed() throws {
        func make(_ type: String, _ hyper: [String: JSONCodable]) throws {
            _ = try IntervenableModel(config: IntervenableConfig(RepresentationConfig(layer: 0, component: .blockOutput, interventionHyperparameters: hyper),
                                                                 interventionType: InterventionType(type)), model: model)
        }
        let misspelled = InterventionError.unknownHyperparameter(type: "VanillaIntervention", key: "interchange_dims", allowed: ["embed_dim", "interchange_dim"])
        #expect(throws: misspelled) { try make("VanillaIntervention", ["interchange_dims": 2]) }
        #expect("\(misspelled)" == "VanillaIntervention: unknown hyperparameter 'interchange_dims'; allowed: embed_dim, interchange_dim")
        #expect(throws: InterventionError.invalidHyperparameter(type: "RotatedSpaceIntervention", field: "embed_dim", value: "8", allowed: "16 (the site's unit dimension × max_number_of_units)")) {
            try make("das", ["embed_dim": 8])
        }
        #expect(throws: InterventionError.invalidHyperparameter(type: "PCARotatedSpaceIntervention", field: "components", value: "40", allowed: "an integer in 1...16")) {
            try make("pca", ["components": 40])
        }
        #expect(throws: InterventionError.invalidHyperparameter(type: "LowRankRotatedSpaceIntervention", field: "low_rank_dimension", value: "40", allowed: "an integer in 1...16")) {
            try make("low_rank_rotated_space", ["low_rank_dimension": 40])
        }
        #expect(NoiseIntervention(seed: UInt64.max).hyperparameters["seed"] == .int(-1))
        let gru = GRUClassifier(GRUClassifierConfiguration(width: 4, layers: 1, labels: 2))
        let recurrent = try IntervenableModel(config: IntervenableConfig(RepresentationConfig(layer: 0, component: .cellOutput, unit: .timeStep),
                                                                         interventionType: .zero), model: gru)
        let steps = field { _ = try recurrent.forward(base: .embeddings(Tensor.zeros([1, 3, 4])), unitLocations: .base([[5]])) }
        #expect(steps == "unit_locations[0].base | steps 0..<3 of the base sequence")
    }
}

