/// A mutable list on the pickle stack (a reference, so memoised copies see later appends).
final class TorchPickleList {
    var items: [TorchPickleObject] = []
}

/// A mutable dict on the pickle stack, in insertion order.
final class TorchPickleDict {
    var pairs: [(TorchPickleObject, TorchPickleObject)] = []
}

/// One of the allowed pickle globals.
enum TorchPickleGlobal: Equatable {
    case orderedDict, rebuildTensor, rebuildParameter
    case storage(TorchStorageDType)
}

/// A storage reference from a persistent id: ('storage', type, key, location, numel).
struct TorchStorageRef {
    let dtype: TorchStorageDType
    let key: String
    let numel: Int
}

/// Element types of torch storages the reader accepts.
public enum TorchStorageDType: String, Sendable, CaseIterable {
    case float32 = "FloatStorage", float16 = "HalfStorage", bfloat16 = "BFloat16Storage"
    case float64 = "DoubleStorage", int64 = "LongStorage", int32 = "IntStorage", int16 = "ShortStorage"
    case int8 = "CharStorage", uint8 = "ByteStorage", bool = "BoolStorage"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .float64, .int64: return 8
        case .float32, .int32: return 4
        case .float16, .bfloat16, .int16: return 2
        case .int8, .uint8, .bool: return 1
        }
    }
}

/// A value on the pickle VM's stack or in its memo.
enum TorchPickleObject {
    case none, bool(Bool), int(Int), double(Double), string(String)
    case list(TorchPickleList), dict(TorchPickleDict), tuple([TorchPickleObject])
    case mark, global(TorchPickleGlobal), storage(TorchStorageRef), tensor(TorchTensor)

    var kindName: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float"
        case .string: return "str"
        case .list: return "list"
        case .dict: return "dict"
        case .tuple: return "tuple"
        case .mark: return "mark"
        case .global: return "global"
        case .storage: return "storage"
        case .tensor: return "tensor"
        }
    }
}
