import Foundation
import FuzzSupport
import Intervene
import Models
import Tensors

// Input: {"config": <intervenable config>, "unit_locations": <pyvene unit_locations>,
// "subspaces": <pyvene subspaces>} (JSON). The config is decoded and built on a tiny GPT-2, the
// locations and subspaces are converted from pyvene's forms for a batch of 2, and the intervened
// forward pass runs on (2, 6) token ids.

nonisolated(unsafe) let model = Fuzz.tinyGPT2()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let json = try? JSONValue.parse(Fuzz.bytes(data, size)), let configJSON = json["config"],
          let config = try? IntervenableConfig.decode(json: configJSON.serialized()),
          let locationsJSON = json["unit_locations"],
          let locations = try? UnitLocations(pyvene: locationsJSON, config: config, batchSize: 2) else { return 0 }
    let interventions = config.representations.count
    guard let subspaces = try? IntervenableModel.subspaces(pyvene: json["subspaces"] ?? .null, interventions: interventions, batchSize: 2),
          let intervenable = try? IntervenableModel(config: config, model: model, seed: 1) else { return 0 }
    let groups = config.mode == .serial ? IntervenableModel.groups(of: config).count : 1
    _ = try? Tensor.withoutGradients {
        try intervenable.forward(base: .tokens(Fuzz.baseTokens), sources: Array(repeating: .tokens(Fuzz.sourceTokens), count: max(groups, 1)),
                                 unitLocations: locations, subspaces: subspaces).intervened.logits.sum()
    }
    return 0
}
