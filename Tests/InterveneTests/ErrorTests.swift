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
        #expect(field { _ = try IntervenableModel(config: IntervenableConfig(RepresentationConfig(layer: 0, component: .blockOutput, lowRankDimension: 40), interventionType: .lowRankRotatedSpace), model: model) }
                == "representations[0].low_rank_dimension | 1...16")
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
}
