import Foundation
import FuzzSupport
import Intervene
import Models
import Tensors

// Input: an intervention bundle as bundle.json, a NUL byte, then weights.safetensors. The bundle
// is loaded onto a tiny GPT-2 (the seeds carry its fingerprint) and, when it loads, run once.

nonisolated(unsafe) let model = Fuzz.tinyGPT2()

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    Fuzz.writeSeedsIfAsked {
        let configs: [String: IntervenableConfig] = [
            "das": IntervenableConfig(representations: [
                RepresentationConfig(layer: 1, component: .blockOutput, interventionType: .boundlessRotatedSpace),
                RepresentationConfig(layer: 0, component: .mlpOutput, lowRankDimension: 3, interventionType: .lowRankRotatedSpace),
            ]),
            "vanilla": IntervenableConfig(RepresentationConfig(layer: 0, component: .blockOutput), interventionType: .vanilla),
            "autoencoder": IntervenableConfig(RepresentationConfig(layer: 1, component: .blockOutput, interventionType: .autoencoder,
                                                                   interventionHyperparameters: ["latent_dim": 8])),
            "heads": IntervenableConfig(RepresentationConfig(layer: 0, component: .headAttentionValueOutput, unit: .headPosition,
                                                             subspacePartition: [[0, 4], [4, 8]], interventionType: .rotatedSpace)),
        ]
        var seeds: [String: [UInt8]] = [:]
        for (name, config) in configs {
            let intervenable = try IntervenableModel(config: config, model: model, seed: 3)
            let folder = NSTemporaryDirectory() + "fuzz-bundle-seed-\(name)"
            try InterventionBundle.save(intervenable, to: folder, modelSource: "tiny-gpt2", metrics: ["iia": 0.5],
                                        provenance: .init(command: "seed", seed: 3, data: "none", subspaces: [0]))
            let json = try Data(contentsOf: URL(fileURLWithPath: folder + "/bundle.json"))
            let weights = try Data(contentsOf: URL(fileURLWithPath: folder + "/weights.safetensors"))
            seeds[name + ".bundle"] = Array(json) + [0] + Array(weights)
            try? FileManager.default.removeItem(atPath: folder)
        }
        return seeds
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let (head, tail) = Fuzz.splitAtFirstNUL(Fuzz.bytes(data, size))
    guard let json = try? JSONValue.parse(head), let manifest = try? InterventionBundle.manifest(json: json, path: "fuzz-bundle") else { return 0 }
    _ = (manifest.metrics, manifest.trainedSubspaces, manifest.modelType)
    guard let loaded = try? InterventionBundle.load(manifest: manifest, model: model, weights: {
        try SafeTensorsFile(bytes: tail ?? UnsafeRawBufferPointer(start: nil, count: 0), name: "fuzz-bundle/weights.safetensors")
    }) else { return 0 }
    let n = loaded.config.representations.count
    _ = try? Tensor.withoutGradients {
        try loaded.forward(base: .tokens(Fuzz.baseTokens), sources: [.tokens(Fuzz.sourceTokens)],
                           unitLocations: .position(2, batchSize: 2, interventions: n)).intervened.logits.sum()
    }
    return 0
}
