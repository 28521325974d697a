import Tensors

/// What every layer of one forward pass shares: the options (hooks, cache, masks) and the
/// rotary angle tables, computed once per pass.
struct DecoderPass {
    let options: ForwardOptions
    let rotary: RotaryEmbedding?
    let rotaryTables: RotaryTables?
    var hooks: (any ActivationHooks)? { options.hooks }

    /// True when some hook wants the activation at (layer, tap) — for sites computed only then.
    func isActive(_ layer: Int, _ tap: Component) -> Bool {
        options.hooks?.isActive(TapPoint(layer: layer, tap: tap)) ?? false
    }
}

/// One transformer block. Every site of the site table is tapped here (or in the parts it
/// calls), so a family gets every pyvene component by using this layer.
///
///     sequential:  x += attn(n₁(x));  x += mlp(n₂(x))
///     parallel:    x += attn(n₁(x)) + mlp(n₂(x))
///     sandwich:    x += n₂′(attn(n₁(x)));  x += n₄(mlp(n₃(x)))
public final class DecoderLayer: Module {
    let attentionNorm: DecoderNorm
    /// nil when the MLP reads the attention norm's output (parallel residual with a shared norm).
    let mlpNorm: DecoderNorm?
    let postAttentionNorm, postMLPNorm: DecoderNorm?
    let attention: AttentionProjections
    let mlp: FeedForward
    let residual: ResidualForm
    let options: AttentionOptions
    let core: AttentionCore
    let keys: DecoderKeyMap

    init(_ c: DecoderConfig, keys: DecoderKeyMap, index l: Int) {
        attentionNorm = DecoderNorm(c.norm, width: c.width)
        mlpNorm = c.residual == .parallel(sharedNorm: true) ? nil : DecoderNorm(c.norm, width: c.width)
        let sandwich = c.residual == .sandwich
        postAttentionNorm = sandwich ? DecoderNorm(c.norm, width: c.width) : nil
        postMLPNorm = sandwich ? DecoderNorm(c.norm, width: c.width) : nil
        attention = AttentionProjections(c, keys: keys)
        mlp = FeedForward(c, keys: keys)
        residual = c.residual
        options = c.attention
        var scale: Float
        switch c.attention.queryScale {
        case .inverseSquareRootHeadDim: scale = 1 / Float(c.headDim).squareRoot()
        case .inverseSquareRoot(let s): scale = Float(1 / Double(s).squareRoot())
        case .none: scale = 1
        }
        if c.attention.scaleByInverseLayerIndex { scale /= Float(l + 1) }
        core = AttentionCore(heads: c.heads, kvHeads: c.kvHeads, scale: scale, causal: true,
                             window: c.attention.window(layer: l), softCap: c.attention.logitSoftCap)
        self.keys = keys
    }

    /// The block's output for its input x (B, S, D).
    func callAsFunction(_ input: Tensor, layer l: Int, pass: DecoderPass) throws -> Tensor {
        var x = input
        try pass.hooks(l, .blockInput, &x)
        switch residual {
        case .sequential, .sandwich:
            x = x + (try attentionBranch(x, layer: l, pass: pass))
            try pass.hooks(l, .residualMiddle, &x)
            x = x + (try mlpBranch(x, layer: l, pass: pass))
        case .parallel:
            let attended = try attentionBranch(x, layer: l, pass: pass)
            x = (try mlpBranch(x, layer: l, pass: pass)) + attended + x
        }
        try pass.hooks(l, .blockOutput, &x)
        return x
    }

    /// attn(n₁(x)), post-normed in the sandwich form.
    func attentionBranch(_ x: Tensor, layer l: Int, pass: DecoderPass) throws -> Tensor {
        var a = attentionNorm(x)
        try pass.hooks(l, .attentionInput, &a)
        var (q, k, v) = attention.project(a)
        try pass.hooks(l, .queryOutput, &q)
        try pass.hooks(l, .keyOutput, &k)
        try pass.hooks(l, .valueOutput, &v)
        if let c = options.qkvClip {
            q = q.clamped(min: -c, max: c)
            k = k.clamped(min: -c, max: c)
            v = v.clamped(min: -c, max: c)
        }
        if let rotary = pass.rotary, let tables = pass.rotaryTables, rotary.rotaryDim > 0 {
            q = rotary.apply(q, tables: tables)
            k = rotary.apply(k, tables: tables)
        }
        let context = try core(layer: l, query: q, key: k, value: v, options: pass.options)
        var out = try pass.isActive(l, .headResult) ? attention.outputByHead(context, layer: l, pass: pass) : attention.output(context)
        try pass.hooks(l, .attentionOutput, &out)
        var added = postAttentionNorm.map { $0(out) } ?? out
        try pass.hooks(l, .tlAttentionOut, &added)
        return added
    }

    /// mlp(n₂(x)), post-normed in the sandwich form.
    func mlpBranch(_ x: Tensor, layer l: Int, pass: DecoderPass) throws -> Tensor {
        var m = (mlpNorm ?? attentionNorm)(x)
        try pass.hooks(l, .mlpInput, &m)
        var out = try mlp(m) { tap, activation in try pass.hooks(l, tap, &activation) }
        try pass.hooks(l, .mlpOutput, &out)
        var added = postMLPNorm.map { $0(out) } ?? out
        try pass.hooks(l, .tlMLPOut, &added)
        return added
    }

    /// The norms under their checkpoint names, and the attention and MLP parts (whose own
    /// children carry their full names, so they are listed under an empty name), in checkpoint order.
    public var children: [(name: String, module: any Module)] {
        var list: [(name: String, module: any Module)] = []
        for part in keys.layerOrder {
            switch part {
            case .attentionNorm: list.append((keys.attentionNorm, attentionNorm))
            case .mlpNorm: if let mlpNorm { list.append((keys.mlpNorm, mlpNorm)) }
            case .postAttentionNorm:
                if let postAttentionNorm, let name = keys.postAttentionNorm { list.append((name, postAttentionNorm)) }
            case .postMLPNorm:
                if let postMLPNorm, let name = keys.postMLPNorm { list.append((name, postMLPNorm)) }
            case .attention: list += attention.children
            case .mlp: list += mlp.children
            }
        }
        return list
    }

    public func visitParameters(_ visit: (String, Parameter) -> Void) {
        for (name, child) in children { Models.visit(child, prefix: name, visit) }
    }
}
