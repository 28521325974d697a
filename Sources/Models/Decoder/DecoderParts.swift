import Tensors

/// A norm of a decoder, of the kind its `DecoderConfig` names. Input and output (…, D).
public final class DecoderNorm: Module {
    public let kind: NormKind
    /// The scale (absent for non-parametric layer norm; stored as w of 1 + w for Gemma).
    public let weight: Parameter?
    /// The shift (layer norm only).
    public let bias: Parameter?

    public init(_ kind: NormKind, width: Int) {
        self.kind = kind
        switch kind {
        case .layerNorm:
            weight = Parameter(Tensor.ones([width]), trainable: false)
            bias = Parameter(Tensor.zeros([width]), trainable: false)
        case .nonParametricLayerNorm:
            weight = nil
            bias = nil
        case .rmsNorm:
            weight = Parameter(Tensor.ones([width]), trainable: false)
            bias = nil
        case .rmsNormPlusOne:
            weight = Parameter(Tensor.zeros([width]), trainable: false)
            bias = nil
        }
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        switch kind {
        case .layerNorm(let epsilon), .nonParametricLayerNorm(let epsilon):
            return x.layerNorm(weight: weight?.value, bias: bias?.value, epsilon: epsilon)
        case .rmsNorm(let epsilon):
            return x.rmsNorm(weight: weight?.value, epsilon: epsilon)
        case .rmsNormPlusOne(let epsilon):
            return x.rmsNorm(weight: weight.map { 1 + $0.value }, epsilon: epsilon)
        }
    }

    public func visitParameters(_ visit: (String, Parameter) -> Void) {
        if let weight { visit("weight", weight) }
        if let bias { visit("bias", bias) }
    }
}

/// The projections of self-attention: q, k, v from the attention input and the output map.
///
///     q = a W_q (B, S, H·hd)    k = a W_k, v = a W_v (B, S, Hkv·hd)    out = context W_o (B, S, D)
///
/// Fused layouts compute one product and read q, k and v from it (views for [q | k | v]; one
/// regrouping copy for GPT-NeoX's per-head [q_h | k_h | v_h]).
public final class AttentionProjections: Module {
    public let layout: ProjectionLayout
    let fused: Linear?
    let query, key, value: Linear?
    public let output: Linear
    let names: (fused: String?, query: String?, key: String?, value: String?, output: String)
    let heads, kvHeads, headDim: Int

    /// Projections of the shapes `c` gives, named by `keys` (weights zero until loaded).
    public convenience init(_ c: DecoderConfig, keys: DecoderKeyMap) {
        self.init(width: c.width, heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim, layout: c.projection, bias: c.bias,
                  weightLayout: c.weightLayout, fused: keys.fusedQKV, query: keys.query, key: keys.key, value: keys.value,
                  output: keys.attentionOutput)
    }

    /// Projections from width D to H query and Hkv key/value heads of `headDim`, with the
    /// checkpoint names of the fused or separate projections and of the output projection.
    public init(width d: Int, heads: Int, kvHeads: Int, headDim: Int, layout: ProjectionLayout, bias: ProjectionBias,
                weightLayout wl: WeightLayout, fused fusedName: String? = nil, query queryName: String? = nil,
                key keyName: String? = nil, value valueName: String? = nil, output outputName: String) {
        self.layout = layout
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDim = headDim
        let qw = heads * headDim, kvw = kvHeads * headDim
        switch layout {
        case .fused, .fusedPerHead:
            fused = Linear(inFeatures: d, outFeatures: qw + 2 * kvw, bias: bias.query, layout: wl)
            query = nil; key = nil; value = nil
        case .separate:
            fused = nil
            query = Linear(inFeatures: d, outFeatures: qw, bias: bias.query, layout: wl)
            key = Linear(inFeatures: d, outFeatures: kvw, bias: bias.key, layout: wl)
            value = Linear(inFeatures: d, outFeatures: kvw, bias: bias.value, layout: wl)
        }
        output = Linear(inFeatures: qw, outFeatures: d, bias: bias.output, layout: wl)
        names = (fusedName, queryName, keyName, valueName, outputName)
    }

    /// q (B, S, H·hd), k and v (B, S, Hkv·hd) of the attention input a (B, S, D).
    func project(_ a: Tensor) -> (q: Tensor, k: Tensor, v: Tensor) {
        let qw = heads * headDim, kvw = kvHeads * headDim
        switch layout {
        case .separate:
            return (query!(a), key!(a), value!(a))
        case .fused:
            let f = fused!(a)
            return (f.narrowed(2, start: 0, length: qw), f.narrowed(2, start: qw, length: kvw), f.narrowed(2, start: qw + kvw, length: kvw))
        case .fusedPerHead:
            let f = fused!(a)
            let b = f.shape[0], s = f.shape[1]
            let view = f.reshaped([b, s, heads, 3 * headDim])
            func part(_ i: Int) -> Tensor { view.narrowed(3, start: i * headDim, length: headDim).contiguous().reshaped([b, s, qw]) }
            return (part(0), part(1), part(2))
        }
    }

    /// The output projection computed head by head, so that each head's contribution
    /// z_h W_O[h] (B, H, S, D) is tapped as `head_result`; their sum plus the bias is the output.
    func outputByHead(_ context: Tensor, layer l: Int, pass: DecoderPass) throws -> Tensor {
        let w = output.weight.value
        var parts: [Tensor] = []
        for h in 0..<heads {
            let z = context.narrowed(2, start: h * headDim, length: headDim)
            let wh = output.layout == .outputMajor ? w.narrowed(1, start: h * headDim, length: headDim)
                                                   : w.narrowed(0, start: h * headDim, length: headDim)
            parts.append(z.linear(weight: wh, bias: nil, layout: output.layout))
        }
        var result = Tensor.stack(parts, axis: 1)
        try pass.hooks(l, .headResult, &result)
        let summed = result.sum(axis: 1)
        return output.bias.map { summed + $0.value } ?? summed
    }

    public var children: [(name: String, module: any Module)] {
        var list: [(name: String, module: any Module)] = []
        if let fused, let name = names.fused { list.append((name, fused)) }
        if let query, let name = names.query { list.append((name, query)) }
        if let key, let name = names.key { list.append((name, key)) }
        if let value, let name = names.value { list.append((name, value)) }
        list.append((names.output, output))
        return list
    }

    public func visitParameters(_ visit: (String, Parameter) -> Void) {
        for (name, child) in children { Models.visit(child, prefix: name, visit) }
    }
}

/// The MLP of a decoder layer; `mlp_activation` is tapped after the nonlinearity.
///
///     plain:  out = act(m W_up) W_down                      (B, S, D) → (B, S, I) → (B, S, D)
///     gated:  out = (act(m W_gate) ⊙ m W_up) W_down
public final class FeedForward: Module {
    public let kind: FeedForwardKind
    let up: Linear
    let gate: Linear?
    let down: Linear
    let names: (up: String, gate: String?, down: String)

    /// An MLP of the shapes `c` gives, named by `keys` (weights zero until loaded).
    public convenience init(_ c: DecoderConfig, keys: DecoderKeyMap) {
        self.init(width: c.width, intermediate: c.intermediate, kind: c.mlp, inBias: c.bias.mlpIn, outBias: c.bias.mlpOut,
                  weightLayout: c.weightLayout, up: keys.mlpUp, gate: keys.mlpGate, down: keys.mlpDown)
    }

    /// An MLP from width D through `intermediate` and back, with its checkpoint names.
    public init(width: Int, intermediate: Int, kind: FeedForwardKind, inBias: Bool, outBias: Bool, weightLayout: WeightLayout,
                up upName: String, gate gateName: String? = nil, down downName: String) {
        self.kind = kind
        up = Linear(inFeatures: width, outFeatures: intermediate, bias: inBias, layout: weightLayout)
        if case .gated = kind {
            gate = Linear(inFeatures: width, outFeatures: intermediate, bias: inBias, layout: weightLayout)
        } else {
            gate = nil
        }
        down = Linear(inFeatures: intermediate, outFeatures: width, bias: outBias, layout: weightLayout)
        names = (upName, gateName, downName)
    }

    /// The MLP of m (B, S, D), handing the pre-activation, the activation and what the output
    /// projection reads (each (B, S, I)) to `tap`.
    func callAsFunction(_ m: Tensor, tap: (Component, inout Tensor) throws -> Void) rethrows -> Tensor {
        switch kind {
        case .plain(let activation):
            var pre = up(m)
            try tap(.mlpPreActivation, &pre)
            var hidden = activation(pre)
            try tap(.mlpActivation, &hidden)
            try tap(.mlpPostActivation, &hidden)
            return down(hidden)
        case .gated(let activation):
            var pre = gate!(m)
            try tap(.mlpPreActivation, &pre)
            var hidden = activation(pre)
            try tap(.mlpActivation, &hidden)
            var post = hidden * up(m)
            try tap(.mlpPostActivation, &post)
            return down(post)
        }
    }

    public var children: [(name: String, module: any Module)] {
        var list: [(name: String, module: any Module)] = []
        if let gate, let name = names.gate { list.append((name, gate)) }
        list.append((names.up, up))
        list.append((names.down, down))
        return list
    }

    public func visitParameters(_ visit: (String, Parameter) -> Void) {
        for (name, child) in children { Models.visit(child, prefix: name, visit) }
    }
}
