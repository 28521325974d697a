import Foundation
import Testing
@testable import Intervene
import Models
import Tensors

/// Intervention types are values in Swift and pyvene's class names on the wire.
@Suite struct InterventionTypeTests {
    @Test func typesRoundTripThroughJSONAsClassNames() throws {
        let config = IntervenableConfig(representations: [RepresentationConfig(layer: 0, component: .blockOutput, interventionType: .boundlessRotatedSpace),
                                                          RepresentationConfig(layer: 1, component: .blockOutput)],
                                        interventionTypes: .vanilla)
        let text = String(decoding: try JSONEncoder().encode(config), as: UTF8.self)
        #expect(text.contains(#""intervention_type":"BoundlessRotatedSpaceIntervention""#))
        #expect(text.contains(#""intervention_types":"VanillaIntervention""#))
        let decoded = try IntervenableConfig.decode(json: text)
        #expect(decoded == config)
        #expect(decoded.representations[0].interventionType == .boundlessRotatedSpace)
    }

    @Test func aliasesResolveToTheirType() throws {
        let config = try IntervenableConfig.decode(json: #"{"representations": [{"layer": 0, "component": "block_output", "intervention_type": "das"}], "intervention_types": "vanilla"}"#)
        #expect(config.representations[0].interventionType == .rotatedSpace)
        #expect(config.interventionTypes == .vanilla)
        #expect(InterventionType("low_rank_rotated_space") == .lowRankRotatedSpace)
        #expect(InterventionType("NotAnIntervention").name == "NotAnIntervention")
        let im = try IntervenableModel(config: config, model: tinyGPT2())
        #expect(im.interventions[0] is RotatedSpaceIntervention)
    }

    @Test func userTypesRegisterAndDecode() throws {
        let scaled = InterventionType("TestScalingIntervention")
        InterventionRegistry.shared.register(scaled, aliases: ["test_scaling"]) { _ in ClosureIntervention(needsSource: false) { base, _, _ in base * 2 } }
        let config = try IntervenableConfig.decode(json: #"{"representations": {"layer": 0, "component": "block_output", "intervention_type": "test_scaling"}}"#)
        #expect(config.representations[0].interventionType == scaled)
        let im = try IntervenableModel(config: config, model: tinyGPT2())
        #expect(im.interventions[0] is ClosureIntervention)
        #expect(throws: InterventionError.self) {
            try IntervenableModel(config: IntervenableConfig(RepresentationConfig(layer: 0, component: .blockOutput), interventionType: InterventionType("Unregistered")),
                                  model: tinyGPT2())
        }
    }
}
