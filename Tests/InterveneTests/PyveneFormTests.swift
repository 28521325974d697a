import Foundation
import Testing
@testable import Intervene
import Models
import Tensors

@Suite struct PyveneFormTests {
    let two = IntervenableConfig(representations: [RepresentationConfig(layer: 0, component: .blockOutput),
                                                   RepresentationConfig(layer: 1, component: .headQueryOutput, unit: .headPosition)])

    @Test func canonicalFormConverts() throws {
        let json = try JSONValue.parse(#"{"sources->base": [[[[1], [2]], [[[0], [1]], [[3], [4]]]], [[[5], [6]], [[[1], [0]], [[2], [2]]]]]}"#)
        let locations = try UnitLocations(pyvene: json, config: two, batchSize: 2)
        #expect(locations.interventions[0].source == [.positions([1]), .positions([2])])
        #expect(locations.interventions[0].base == [.positions([5]), .positions([6])])
        #expect(locations.interventions[1].source == [.heads([0], positions: [3]), .heads([1], positions: [4])])
        #expect(locations.interventions[1].base == [.heads([1], positions: [2]), .heads([0], positions: [2])])
    }

    @Test func shorthandsConvert() throws {
        let one = IntervenableConfig(RepresentationConfig(layer: 0, component: .blockOutput))
        let int = try UnitLocations(pyvene: try JSONValue.parse(#"{"sources->base": 3}"#), config: one, batchSize: 2)
        #expect(int == .position(3, batchSize: 2))
        let pair = try UnitLocations(pyvene: try JSONValue.parse(#"{"sources->base": [3, 5]}"#), config: one, batchSize: 2)
        #expect(pair.interventions[0].source == [.positions([3]), .positions([3])])
        #expect(pair.interventions[0].base == [.positions([5]), .positions([5])])
        let list = try UnitLocations(pyvene: try JSONValue.parse(#"{"sources->base": [0, 1, 2]}"#), config: one, batchSize: 1)
        #expect(list.interventions[0].base == [.positions([0, 1, 2])])
        let baseOnly = try UnitLocations(pyvene: try JSONValue.parse(#"{"base": 4}"#), config: one, batchSize: 1)
        #expect(baseOnly.interventions[0].source == nil && baseOnly.interventions[0].base == [.positions([4])])
        let noneSource = try UnitLocations(pyvene: try JSONValue.parse(#"{"sources->base": [null, 5]}"#), config: one, batchSize: 1)
        #expect(noneSource.interventions[0].source == nil)
    }

    @Test func subspacesConvert() throws {
        #expect(try IntervenableModel.subspaces(pyvene: .int(2), interventions: 2, batchSize: 2) == [[[2], [2]], [[2], [2]]])
        #expect(try IntervenableModel.subspaces(pyvene: try JSONValue.parse("[0, 1]"), interventions: 1, batchSize: 2) == [[[0, 1], [0, 1]]])
        #expect(try IntervenableModel.subspaces(pyvene: try JSONValue.parse("[[[0], [1, 2]]]"), interventions: 1, batchSize: 2) == [[[0], [1, 2]]])
    }

    @Test func configReadsPyveneFieldNames() throws {
        let config = try IntervenableConfig.decode(json: """
        {"representations": [{"layer": 2, "component": "block_output", "unit": "pos", "max_number_of_units": 1,
          "subspace_partition": [[0, 8], [8, 16]], "intervention_type": "RotatedSpaceIntervention", "group_key": 0}],
         "mode": "parallel"}
        """)
        #expect(config.representations[0].layer == 2)
        #expect(config.representations[0].expandedPartition == [Array(0..<8), Array(8..<16)])
        #expect(config.representations[0].interventionType == .rotatedSpace)
        let text = String(decoding: try JSONEncoder().encode(config), as: UTF8.self)
        #expect(text.contains("\"max_number_of_units\":1"))
        #expect(try IntervenableConfig.decode(json: text) == config)
    }
}
