import Tensors

/// Train and test accuracy of the probe fitted at one layer (or any named site).
public struct LayerProbeResult: Sendable {
    public let layer: String
    public let trainAccuracy: Double, testAccuracy: Double
}

/// Layer-by-layer probing: one linear probe per layer on the same labels and seeded split, to
/// see where in the network a property becomes linearly readable.
public enum LayerProbing {
    /// Fits one probe per entry of `layers` ((N, D_l) rows each, the same N rows in the same
    /// order for every layer). Throws for no layers or a layer whose rows do not fit `labels`.
    public static func fit(layers: [(name: String, rows: Tensor)], labels: [Int],
                           options: ProbeOptions = ProbeOptions()) throws -> [LayerProbeResult] {
        guard !layers.isEmpty else { throw ProbeError.invalid(field: "layers", value: "[]", allowed: "at least one layer of activations") }
        return try layers.map { layer in
            do {
                let fitted = try LinearProbing.fit(rows: layer.rows, labels: labels, options: options)
                return LayerProbeResult(layer: layer.name, trainAccuracy: fitted.trainAccuracy, testAccuracy: fitted.testAccuracy)
            } catch ProbeError.invalid(let field, let value, let allowed) {
                throw ProbeError.invalid(field: "\(layer.name): \(field)", value: value, allowed: allowed)
            }
        }
    }

    /// Rows for probing from `ActivationExport.collect` output: for prompt i = 0..<prompts, the
    /// activation `prompt_<i>/<site>` of shape (S, D) read at `position` (negative counts from
    /// the end, so −1 is the last token), stacked into (prompts, D).
    public static func rows(from items: [String: SafeTensorsWriter.Item], site: String, prompts: Int, position: Int = -1) throws -> Tensor {
        guard prompts >= 1 else { throw ProbeError.invalid(field: "prompts", value: "\(prompts)", allowed: "at least 1") }
        let picked = try (0..<prompts).map { i -> Tensor in
            let key = "prompt_\(i)/\(site)"
            guard case .float(let activation)? = items[key], activation.rank == 2 else {
                throw ProbeError.invalid(field: key, value: items[key] == nil ? "missing" : "not an (S, D) float tensor",
                                         allowed: "an (S, D) residual-stream activation from ActivationExport")
            }
            let length = activation.shape[0], p = position < 0 ? length + position : position
            guard p >= 0, p < length else {
                throw ProbeError.invalid(field: "position", value: "\(position)", allowed: "-\(length)..<\(length) for \(key)")
            }
            return activation.narrowed(0, start: p, length: 1).squeezed(0)
        }
        guard picked.allSatisfy({ $0.shape == picked[0].shape }) else {
            throw ProbeError.invalid(field: site, value: "widths \(Set(picked.map { $0.shape }))", allowed: "one width D for every prompt")
        }
        return Tensor.stack(picked, axis: 0)
    }
}

extension SVGPlot {
    /// Probe accuracy per layer: train and test accuracy as two lines over the layer index, one
    /// marker (`<circle class="train">` / `<circle class="test">`) per layer and series.
    public static func probeAccuracyByLayer(_ results: [LayerProbeResult], title: String = "Probe accuracy by layer") -> String {
        let train = results.enumerated().map { (Double($0.offset), $0.element.trainAccuracy) }
        let test = results.enumerated().map { (Double($0.offset), $0.element.testAccuracy) }
        return lineChart([("train", train), ("test", test)], title: title, xLabel: "layer", yLabel: "accuracy", markers: ["train", "test"])
    }
}
