/// A ggml tensor type as GGUF stores it: its id on disk, and the size of its blocks.
///
/// Quantized types store runs of `blockElements` consecutive elements (along ne[0], the fastest
/// dimension) in `blockBytes` bytes; element types (F32, F16, …) are blocks of one element.
/// Every type ggml defines today is listed so that a file holding, say, IQ types still opens; only
/// `dequantizable` types convert to Float32.
public enum GGMLType: UInt32, CaseIterable, Sendable {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q8_1 = 9
    case q2_K = 10, q3_K = 11, q4_K = 12, q5_K = 13, q6_K = 14, q8_K = 15
    case iq2_XXS = 16, iq2_XS = 17, iq3_XXS = 18, iq1_S = 19, iq4_NL = 20, iq3_S = 21, iq2_S = 22, iq4_XS = 23
    case i8 = 24, i16 = 25, i32 = 26, i64 = 27, f64 = 28, iq1_M = 29, bf16 = 30
    case tq1_0 = 34, tq2_0 = 35, mxfp4 = 39

    /// The name ggml and gguf-py use ("Q4_1", "BF16", …).
    public var name: String { "\(self)".uppercased() }

    /// The type called `name` ("Q4_K", "F16", …), or nil.
    public init?(name: String) {
        guard let type = GGMLType.allCases.first(where: { $0.name == name }) else { return nil }
        self = type
    }

    /// Elements per block (1 for element types, 32 or 256 for quantized types).
    public var blockElements: Int {
        switch self {
        case .f32, .f16, .bf16, .f64, .i8, .i16, .i32, .i64: return 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1, .iq4_NL, .mxfp4: return 32
        default: return 256
        }
    }

    /// Bytes per block.
    public var blockBytes: Int {
        switch self {
        case .i8: return 1
        case .f16, .bf16, .i16: return 2
        case .f32, .i32: return 4
        case .f64, .i64: return 8
        case .q4_0, .iq4_NL: return 18
        case .q4_1: return 20
        case .q5_0: return 22
        case .q5_1: return 24
        case .q8_0: return 34
        case .q8_1: return 36
        case .mxfp4: return 17
        case .q2_K: return 84
        case .q3_K, .iq3_S: return 110
        case .q4_K: return 144
        case .q5_K: return 176
        case .q6_K: return 210
        case .q8_K: return 292
        case .iq2_XXS, .tq2_0: return 66
        case .iq2_XS: return 74
        case .iq3_XXS: return 98
        case .iq1_S: return 50
        case .iq2_S: return 82
        case .iq4_XS: return 136
        case .iq1_M: return 56
        case .tq1_0: return 54
        }
    }

    /// True for block-quantized types (more than one element per block).
    public var isQuantized: Bool { blockElements > 1 }

    /// Types `GGUFFile.tensor(_:)` and `dequantize` convert to Float32.
    public static let dequantizable: [GGMLType] = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1,
                                                   .q2_K, .q3_K, .q4_K, .q5_K, .q6_K]

    /// True when this type converts to Float32 here.
    public var canDequantize: Bool { GGMLType.dequantizable.contains(self) }

    /// Bytes that `elements` elements occupy, or nil when `elements` is negative, not a whole
    /// number of blocks, or the byte count overflows.
    public func byteCount(elements: Int) -> Int? {
        guard elements >= 0, elements % blockElements == 0 else { return nil }
        let (bytes, overflow) = (elements / blockElements).multipliedReportingOverflow(by: blockBytes)
        return overflow ? nil : bytes
    }
}
