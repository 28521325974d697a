import Features
import Foundation
import Models
import Tensors

/// Cases of the codebook-golden/v1 format (codebook-features 0.1.2): single codebook layers and
/// group codebooks (snap, snap_disable, snap_backward, group_snap, code_patch) and a whole
/// codebook model (model_forward, model_loss_grad). Everything is read from the manifest: layer
/// sizes, metrics, loss variants, hook_kwargs, patches, placements and tensor names.
struct CodebookGoldenCases {
    let data: GoldenFolder

    init(_ data: GoldenFolder) { self.data = data }

    func runAll() -> [GoldenResult] {
        let model = Result { try buildModel() }
        return data.cases.map { c in
            GoldenRunner.result(c) {
                switch c["kind"]?.stringValue ?? "" {
                case "snap", "snap_disable", "snap_backward", "group_snap", "code_patch": return try layerCase(c)
                case "model_forward", "model_loss_grad": return try modelCase(c, try model.get())
                case let kind: throw GoldenSkip("case kind '\(kind)' is not known to the codebook runner")
                }
            }
        }
    }

    // MARK: Layer cases

    /// Builds the case's layer and loads its parameters by state_dict key.
    func layer(_ c: JSONValue) throws -> any CodebookSiteLayer {
        guard let spec = c["layer"] else { throw GoldenFailure("no layer block") }
        let width = spec["dim"]?.intValue ?? 0, codes = spec["num_codes"]?.intValue ?? 0, k = spec["kcodes"]?.intValue ?? 1
        let similarity = try CodebookSimilarity(parsing: spec["similarity_metric"]?.stringValue ?? "")
        let objective = try spec["loss"]?.stringValue.map { try CodebookObjective(parsing: $0) } ?? .aeloss
        let epsilon = Float(spec["ln_eps"]?.doubleValue ?? 1e-5)
        let layer: any CodebookSiteLayer
        switch spec["class"]?.stringValue ?? "" {
        case "CodebookLayer":
            layer = try CodebookLayer(width: width, codeCount: codes, k: k, similarity: similarity, objective: objective, epsilon: epsilon)
        case "GroupCodebookLayer":
            layer = try GroupCodebookLayer(width: width, groups: spec["num_codebooks"]?.intValue ?? 1, codeCount: codes, k: k,
                                           similarity: similarity, objective: objective, epsilon: epsilon)
        case let other: throw GoldenSkip("layer class '\(other)' is not built")
        }
        let params = c["params"]?.objectValue ?? JSONObject()
        for (key, parameter) in layer.namedParameters {
            guard let name = params[key]?.stringValue else { throw GoldenFailure("params has no '\(key)'") }
            parameter.assign(try data.tensor(name))
        }
        return layer
    }

    /// Runs a layer with per-group options and patches.
    func snap(_ layer: any CodebookSiteLayer, _ x: Tensor, options: CodebookCallOptions, patch: CodePatch?, group: Int?) throws -> CodebookSnap {
        switch layer {
        case let single as CodebookLayer:
            return try single.snap(x, options: options, patches: patch.map { [$0] } ?? [])
        case let grouped as GroupCodebookLayer:
            let g = grouped.groups.count
            let patches = (0..<g).map { i in (patch != nil && (group == nil || group == i)) ? [patch!] : [] }
            return try grouped.snap(x, options: Array(repeating: options, count: g), patches: patches)
        default: throw GoldenFailure("unknown layer type")
        }
    }

    func layerCase(_ c: JSONValue) throws -> Float? {
        let layer = try layer(c)
        let options = try CodebookCallOptions(hookKwargs: c["layer"]?["hook_kwargs"]?.objectValue ?? JSONObject())
        var patch: CodePatch?
        if let i = c["intervention"], !i.isNull {
            guard i["function"]?.stringValue?.hasSuffix("patch_in_codes") == true else { throw GoldenSkip("intervention \(i["function"]?.serialized() ?? "?") is not built") }
            patch = try CodePatch(json: i.objectValue ?? JSONObject())
        }
        let group = c["intervention"]?["codebook_index"]?.intValue
        let training = c["layer"]?["mode"]?.stringValue == "train"
        var x = try data.tensor(c["inputs"]?["x"]?.stringValue ?? "")
        var comparator = GoldenComparator()
        let expected = c["expected"]?.objectValue ?? JSONObject()
        let result: CodebookSnap
        if training {
            x.requiresGrad = true
            for (_, p) in layer.namedParameters { p.isTrainable = true; p.zeroGrad() }
            result = try snap(layer, x, options: options, patch: patch, group: group)
            let seed = try data.tensor(c["inputs"]?["grad_output"]?.stringValue ?? "")
            var total = (result.output * seed).sum()
            for (_, loss) in result.auxiliaryLosses.sorted(by: { $0.key < $1.key }) { total = total + loss }
            total.backward()
        } else {
            result = try Tensor.withoutGradients { try snap(layer, x, options: options, patch: patch, group: group) }
        }
        let parameters = layer.parameterDictionary
        for (key, entry) in expected {
            switch key {
            case "output": try comparator.check(key, result.output, expected: entry, in: data)
            case "normalized_input":
                guard let n = result.normalized else { throw GoldenFailure("no normalized input") }
                try comparator.check(key, n, expected: entry, in: data)
            case "codebook_ids": try checkIDs(&comparator, key, result.codes, entry)
            case "grad.x":
                guard let g = x.grad else { throw GoldenFailure("no gradient for x") }
                try comparator.check(key, g, expected: entry, in: data)
            case let k where k.hasPrefix("grad."):
                guard let p = parameters[String(k.dropFirst(5))] else { throw GoldenSkip("expected key '\(k)' names no parameter") }
                guard let g = p.grad else { throw GoldenFailure("no gradient for \(k)") }
                try comparator.check(key, g, expected: entry, in: data)
            default: throw GoldenSkip("expected key '\(key)' is not understood")
            }
        }
        if let plain = c["reference_plain_run"]?.objectValue {
            let base = try Tensor.withoutGradients { try snap(layer, x.detached(), options: .plain, patch: nil, group: nil) }
            if let e = plain["output"] { try comparator.check("plain output", base.output, expected: e, in: data) }
            if let e = plain["codebook_ids"] { try checkIDs(&comparator, "plain codebook_ids", base.codes, e) }
        }
        try comparator.verdict()
        return comparator.maxAbsError
    }

    func checkIDs(_ comparator: inout GoldenComparator, _ label: String, _ ids: IndexTensor?, _ entry: JSONValue) throws {
        guard let ids else { throw GoldenFailure("\(label): no code ids") }
        let expected = try data.integers(entry["tensor"]?.stringValue ?? "")
        comparator.check(label, ids.values, expected.values)
        if ids.shape != expected.shape { comparator.failures.append("\(label): shape \(ids.shape), expected \(expected.shape)") }
    }
}

// MARK: Model cases

extension CodebookGoldenCases {
    /// The base model of the folder with the codebooks of `model.codebook_config_resolved`,
    /// loaded from `model.codebooks[].tensors`.
    func buildModel() throws -> CodebookModel {
        guard let decoder = try ModelLoader.load(.folder(data.folder)).model as? DecoderModel else {
            throw GoldenSkip("the codebook model needs a decoder model")
        }
        guard let config = data.manifest["model"]?["codebook_config_resolved"] else { throw GoldenFailure("no codebook_config_resolved") }
        func list(_ key: String) -> [JSONValue] { config[key]?.arrayValue ?? [] }
        let places = try list("codebook_at").map { try CodebookPlacement(parsing: $0.stringValue ?? "") }
        let similarity = try CodebookSimilarity(parsing: config["similarity_metric"]?.stringValue ?? "")
        let objective = try CodebookObjective(parsing: config["loss"]?.stringValue ?? "aeloss")
        let layers = list("layers_to_snap").compactMap(\.intValue)
        var specs: [CodebookSpec] = []
        for (i, place) in places.enumerated() {
            let vanilla = list("codebook_type")[i].stringValue == "vanilla"
            specs.append(CodebookSpec(placement: place, layers: layers, codeCount: list("num_codes")[i].intValue ?? 0,
                                      k: list("k_codebook")[i].intValue ?? 1, groups: vanilla ? 1 : (list("num_codebooks")[i].intValue ?? 1),
                                      similarity: similarity, objective: objective))
        }
        let model = try CodebookModel(model: decoder, specs: specs)
        for entry in data.manifest["model"]?["codebooks"]?.arrayValue ?? [] {
            let name = entry["name"]?.stringValue ?? "?"
            guard let codebook = model.codebook(named: name) else { throw GoldenFailure("no codebook named \(name)") }
            let tensors = entry["tensors"]?.objectValue ?? JSONObject()
            for (key, parameter) in codebook.namedParameters {
                guard let t = tensors[key]?.stringValue else { throw GoldenFailure("\(name) has no tensor '\(key)'") }
                parameter.assign(try data.tensor(t))
            }
        }
        return model
    }

    /// state_dict key of every codebook tensor → its parameter.
    func codebookParameters(_ model: CodebookModel) -> [String: Parameter] {
        var map: [String: Parameter] = [:]
        for entry in data.manifest["model"]?["codebooks"]?.arrayValue ?? [] {
            guard let prefix = entry["state_dict_prefix"]?.stringValue, let layer = model.codebook(named: entry["name"]?.stringValue ?? "") else { continue }
            for (key, p) in layer.namedParameters { map[prefix + "." + key] = p }
        }
        return map
    }

    /// Puts every codebook back to the plain snap, then applies the case's hook_kwargs and patch.
    func configure(_ model: CodebookModel, _ c: JSONValue) throws {
        model.codebooksEnabled = c["codebooks_enabled"]?.boolValue ?? true
        let variant = try c["loss"]?["loss_variant"]?.stringValue.map { try CodebookObjective(parsing: $0) }
        for (_, layer) in model.codebooks {
            layer.callOptions = .plain
            layer.patches = []
            if let variant { layer.objective = variant }
        }
        if let h = c["hook_kwargs"], !h.isNull {
            let name = h["codebook"]?.stringValue ?? "?"
            guard let layer = model.codebook(named: name) else { throw GoldenFailure("no codebook named \(name)") }
            layer.callOptions = try CodebookCallOptions(hookKwargs: h["hook_kwargs"]?.objectValue ?? JSONObject())
        }
        if let i = c["intervention"], !i.isNull {
            guard i["function"]?.stringValue?.hasSuffix("patch_in_codes") == true else { throw GoldenSkip("intervention \(i["function"]?.serialized() ?? "?") is not built") }
            let name = i["codebook"]?.stringValue ?? "?"
            guard let layer = model.codebook(named: name) else { throw GoldenFailure("no codebook named \(name)") }
            layer.patches = [try CodePatch(json: i.objectValue ?? JSONObject())]
        }
    }

    func modelCase(_ c: JSONValue, _ model: CodebookModel) throws -> Float? {
        try configure(model, c)
        defer { model.codebooksEnabled = true; model.model.freeze() }
        let ids = try data.integers(c["inputs"]?["input_ids"]?.stringValue ?? "")
        let training = c["kind"]?.stringValue == "model_loss_grad"
        var comparator = GoldenComparator()
        let output: CodebookModelOutput
        var loss: Tensor?
        if training {
            try model.model.unfreeze()
            for (_, p) in model.model.namedParameters { p.zeroGrad() }
            output = try model.forward(ids)
            guard output.logits.rank == 3, output.logits.shape[0] * output.logits.shape[1] == ids.values.count else {
                throw GoldenFailure("logits \(output.logits.shape) do not match the ids \(ids.shape)")
            }
            let ce = nextTokenLoss(output.logits, ids)
            var total = ce
            for (_, l) in output.auxiliaryLosses.sorted(by: { $0.key < $1.key }) { total = total + l }
            total.backward()
            loss = ce
        } else {
            model.model.freeze()
            output = try Tensor.withoutGradients { try model.forward(ids) }
        }
        for (key, entry) in c["expected"]?.objectValue ?? JSONObject() {
            if key == "logits" { try comparator.check(key, output.logits, expected: entry, in: data); continue }
            if key == "loss", let loss { try comparator.check(key, loss, expected: entry, in: data); continue }
            guard key.hasPrefix("codebook_ids."), let name = entry["codebook"]?.stringValue else { throw GoldenSkip("expected key '\(key)' is not understood") }
            try checkIDs(&comparator, key, output.codes[name], entry)
        }
        if training { try checkGradients(&comparator, c, model) }
        try comparator.verdict()
        return comparator.maxAbsError
    }

    /// Mean cross-entropy of logits[:, t] against ids[:, t + 1] over t < T − 1.
    func nextTokenLoss(_ logits: Tensor, _ ids: IndexTensor) -> Tensor {
        let b = logits.shape[0], t = logits.shape[1], v = logits.shape[2]
        let predicted = logits.narrowed(1, start: 0, length: t - 1).contiguous().reshaped([b * (t - 1), v])
        let targets = (0..<b).flatMap { row in (1..<t).map { ids.values[row * t + $0] } }
        return Tensor.crossEntropy(logits: predicted, targets: targets)
    }

    func checkGradients(_ comparator: inout GoldenComparator, _ c: JSONValue, _ model: CodebookModel) throws {
        let codebook = codebookParameters(model), base = model.model.parameterDictionary
        for (group, table) in [("codebook", codebook), ("base_model", base)] {
            for (key, entry) in c["gradients"]?[group]?.objectValue ?? JSONObject() {
                guard let p = table[key] else { throw GoldenFailure("no parameter for gradient '\(key)'") }
                guard let g = p.grad else { throw GoldenFailure("no gradient for '\(key)'") }
                try comparator.check("grad \(key)", g, expected: entry, in: data)
            }
        }
    }
}
