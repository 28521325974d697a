/// Why a matrix cannot be kept in (or used from) its quantized blocks.
public enum QuantizedWeightError: Error, CustomStringConvertible, Equatable {
    /// The ggml type has no quantized kernels (allowed: `QuantizedMatrix.supportedTypes`).
    case unsupportedType(tensor: String, type: GGMLType)
    /// The tensor is not a matrix (rank 2).
    case notAMatrix(tensor: String, shape: [Int])
    /// A row is not a whole number of blocks.
    case partialBlock(tensor: String, columns: Int, blockElements: Int)
    /// The bytes given do not hold rows × columns elements of the type.
    case byteCountMismatch(tensor: String, expected: Int, actual: Int)
    /// Someone asked for a gradient of a quantized weight; quantized weights are always frozen.
    case notTrainable(parameter: String)

    public var description: String {
        switch self {
        case .unsupportedType(let tensor, let type):
            let allowed = QuantizedMatrix.supportedTypes.map(\.name).joined(separator: ", ")
            return "tensor '\(tensor)' has type \(type.name); quantized weights can be kept in \(allowed) (load with dequantize for others)"
        case .notAMatrix(let tensor, let shape):
            return "tensor '\(tensor)' has shape \(shape); only matrices (rank 2) stay quantized"
        case .partialBlock(let tensor, let columns, let block):
            return "tensor '\(tensor)' has \(columns) columns, not a multiple of its \(block)-element blocks"
        case .byteCountMismatch(let tensor, let expected, let actual):
            return "tensor '\(tensor)' has \(actual) bytes; its shape and type need \(expected)"
        case .notTrainable(let parameter):
            return "parameter '\(parameter)' is a quantized weight and cannot be trained (allowed: frozen); load the model with dequantize to train its weights"
        }
    }
}
