import Foundation
import Intervene
import Models
import Tensors

/// loss_grad cases: load the saved parameters, run the intervened forward with gradients, and
/// compare the loss, the logits and dL/d(parameter).
///
/// The gradient with respect to R is read from the rotation's base B (made trainable, with the
/// Cayley generator at 0, R = B[:, :k]). Gradients with respect to torch's unconstrained
/// parametrisation ("torch_parametrization_raw.original") are optional in the golden data and
/// not compared: Intervene parametrises rotations by the Cayley transform, not matrix_exp.
extension PyveneGoldenCases {
    /// Parameter handles of one intervention: name in the manifest → (parameter, gradient view).
    func gradientHandles(_ intervention: any Intervention) -> [String: (Parameter, (Tensor) -> Tensor)] {
        func rotationHandle(_ rotation: Rotation) -> (Parameter, (Tensor) -> Tensor) {
            rotation.base.isTrainable = true
            rotation.generator.isTrainable = false
            let k = rotation.columns
            return (rotation.base, { $0.narrowed(1, start: 0, length: k) })
        }
        let identity: (Tensor) -> Tensor = { $0 }
        switch intervention {
        case let i as RotatedSpaceIntervention:
            return ["rotate_layer.weight": rotationHandle(i.rotation)]
        case let i as LowRankRotatedSpaceIntervention:
            return ["rotate_layer.weight": rotationHandle(i.rotation)]
        case let i as BoundlessRotatedSpaceIntervention:
            i.temperature.isTrainable = true
            return ["rotate_layer.weight": rotationHandle(i.rotation), "intervention_boundaries": (i.boundaries, identity),
                    "temperature": (i.temperature, identity)]
        case let i as SigmoidMaskRotatedSpaceIntervention:
            i.temperature.isTrainable = true
            return ["rotate_layer.weight": rotationHandle(i.rotation), "masks": (i.masks, identity), "temperature": (i.temperature, identity)]
        case let i as SigmoidMaskIntervention:
            return ["mask": (i.mask, identity)]
        case let i as JumpReLUAutoencoderIntervention:
            return ["W_enc": (i.encoderWeight, identity), "W_dec": (i.decoderWeight, identity), "b_enc": (i.encoderBias, identity),
                    "b_dec": (i.decoderBias, identity), "threshold": (i.threshold, identity)]
        case let i as AutoencoderIntervention:
            return ["autoencoder.encoder.0.weight": (i.encoderWeight, identity), "autoencoder.encoder.0.bias": (i.encoderBias, identity),
                    "autoencoder.decoder.0.weight": (i.decoderWeight, identity), "autoencoder.decoder.0.bias": (i.decoderBias, identity)]
        default:
            return [:]
        }
    }

    func lossGrad(_ c: JSONValue, _ model: any HookableModel) throws -> Float? {
        let setup = PyveneCaseSetup(data: data, c: c)
        let config = try setup.config()
        let intervenable = try IntervenableModel(config: config, model: model)
        try setup.loadParameters(into: intervenable)
        let handles = intervenable.interventions.map { gradientHandles($0) }
        let out = try intervenable.forward(base: try setup.input(c["base"]), sources: try setup.sources(),
                                           unitLocations: try setup.locations(for: config),
                                           subspaces: try setup.subspaces(count: config.representations.count))
        guard let lossSpec = c["loss"], let targetsName = lossSpec["targets"]?.stringValue else { throw GoldenFailure("loss_grad case without loss") }
        let targets = try data.integers(targetsName).values
        let logits = out.intervened.output.atPosition(lossSpec["position"]?.intValue)
        let loss = Tensor.crossEntropy(logits: logits, targets: targets)
        loss.backward()
        var comparator = GoldenComparator()
        let expected = c["expected"]?.objectValue ?? JSONObject()
        let quirky = c["quirk"] != nil
        for (key, entry) in expected {
            let intended = key.hasSuffix("_intended")
            if quirky && PyveneCaseSetup.buggyKeys.contains(key) && expected.keys.contains(key + "_intended") { continue }
            switch intended ? String(key.dropLast("_intended".count)) : key {
            case "loss": try comparator.check(key, loss, expected: entry, in: data)
            case "logits", "last_position_logits", "top5_ids": _ = try comparator.checkLogits(key, out.intervened.output, expected: entry, in: data)
            case "grad_R":
                guard let (p, view) = handles.first?["rotate_layer.weight"], let g = p.grad else { throw GoldenFailure("no gradient for R") }
                try comparator.check(key, view(g), expected: entry, in: data)
            default: throw GoldenSkip("expected key '\(key)' is not understood")
            }
        }
        for (key, entry) in lossSpec["gradients"]?.objectValue ?? JSONObject() {
            let parts = key.split(separator: ".", maxSplits: 1).map(String.init)
            guard parts.count == 2, parts[0].hasPrefix("rep"), let rep = Int(parts[0].dropFirst(3)) else { continue }
            if parts[1].hasPrefix("torch_parametrization_raw") { continue }
            if quirky && parts[1] == "rotate_layer.weight" && expected.keys.contains("grad_R_intended") { continue }
            guard let tensorName = entry["tensor"]?.stringValue else {
                // pyvene computes no gradient for this parameter; neither does Intervene.
                if let (p, _) = handles[rep][parts[1]], p.grad != nil { comparator.failures.append("\(key): expected no gradient") }
                continue
            }
            guard let (p, view) = handles[rep][parts[1]] else { throw GoldenSkip("no handle for gradient '\(key)'") }
            guard let g = p.grad else { comparator.failures.append("\(key): no gradient computed"); continue }
            var expectedEntry = entry.objectValue ?? JSONObject()
            expectedEntry["tensor"] = .string(tensorName)
            try comparator.check(key, view(g), expected: .object(expectedEntry), in: data)
        }
        try comparator.verdict()
        return comparator.maxAbsError
    }
}
