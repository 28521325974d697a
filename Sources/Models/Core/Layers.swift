import Tensors

/// y = x W (+ b) over the last dimension. `layout` says how W is stored: (out, in) for
/// torch.nn.Linear, (in, out) for GPT-2's Conv1D.
public final class Linear: Module {
    public let weight: Parameter
    public let bias: Parameter?
    public let layout: WeightLayout

    /// A layer with zero weights (a memory-free zero view until loaded or initialised).
    public init(inFeatures: Int, outFeatures: Int, bias: Bool = true, layout: WeightLayout = .outputMajor) {
        self.layout = layout
        weight = Parameter(Tensor.zerosView(layout == .outputMajor ? [outFeatures, inFeatures] : [inFeatures, outFeatures]), trainable: false)
        self.bias = bias ? Parameter(Tensor.zeros([outFeatures]), trainable: false) : nil
    }

    /// Output width.
    public var outFeatures: Int { layout == .outputMajor ? weight.shape[0] : weight.shape[1] }
    /// Input width.
    public var inFeatures: Int { layout == .outputMajor ? weight.shape[1] : weight.shape[0] }

    /// A weight kept quantized (GGUF, always stored (out, in)) is multiplied block by block.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        if let quantized = weight.quantized {
            precondition(layout == .outputMajor, "quantized weights are stored (out, in)")
            return x.linear(quantized: quantized, bias: bias?.value)
        }
        return x.linear(weight: weight.value, bias: bias?.value, layout: layout)
    }

    public func visitParameters(_ visit: (String, Parameter) -> Void) {
        visit("weight", weight)
        if let bias { visit("bias", bias) }
    }
}

/// Layer normalisation over the last dimension with learned scale and shift.
public final class LayerNorm: Module {
    public let weight: Parameter
    public let bias: Parameter?
    public let epsilon: Float

    public init(_ width: Int, epsilon: Float, bias: Bool = true) {
        weight = Parameter(Tensor.ones([width]), trainable: false)
        self.bias = bias ? Parameter(Tensor.zeros([width]), trainable: false) : nil
        self.epsilon = epsilon
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        x.layerNorm(weight: weight.value, bias: bias?.value, epsilon: epsilon)
    }

    public func visitParameters(_ visit: (String, Parameter) -> Void) {
        visit("weight", weight)
        if let bias { visit("bias", bias) }
    }
}

/// RMS normalisation (Llama): w ⊙ x / √(mean(x²) + ε).
public final class RMSNorm: Module {
    public let weight: Parameter
    public let epsilon: Float

    public init(_ width: Int, epsilon: Float) {
        weight = Parameter(Tensor.ones([width]), trainable: false)
        self.epsilon = epsilon
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { x.rmsNorm(weight: weight.value, epsilon: epsilon) }

    public func visitParameters(_ visit: (String, Parameter) -> Void) { visit("weight", weight) }
}

/// A lookup table of vectors indexed by integer ids.
public final class Embedding: Module {
    public let weight: Parameter

    public init(count: Int, width: Int) {
        weight = Parameter(Tensor.zerosView([count, width]), trainable: false)
    }

    /// Number of rows.
    public var count: Int { weight.shape[0] }

    /// Rows of the table; a quantized table decodes just the rows asked for.
    public func callAsFunction(_ ids: IndexTensor) -> Tensor {
        if let quantized = weight.quantized { return Tensor.embedding(quantized: quantized, ids: ids) }
        return Tensor.embedding(weight.value, ids: ids)
    }

    public func visitParameters(_ visit: (String, Parameter) -> Void) { visit("weight", weight) }
}

/// A hidden-layer nonlinearity named as in Hugging Face configs.
public enum Activation: String, Sendable, Codable {
    case relu, gelu, geluNew = "gelu_new", geluPytorchTanh = "gelu_pytorch_tanh", silu, tanh, sigmoid

    /// Parses a config's activation name ("swish" is SiLU).
    public init?(configName: String) {
        if configName == "swish" { self = .silu; return }
        if configName == "gelu_fast" { self = .geluNew; return }
        self.init(rawValue: configName)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        switch self {
        case .relu: return x.relu()
        case .gelu: return x.gelu(.exact)
        case .geluNew, .geluPytorchTanh: return x.gelu(.tanh)
        case .silu: return x.silu()
        case .tanh: return x.tanh()
        case .sigmoid: return x.sigmoid()
        }
    }
}
