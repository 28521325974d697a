/// A tensor read from a checkpoint: its values as Float32 plus the storage dtype it had.
public struct TorchTensor: Sendable {
    /// The storage element type in the file.
    public let dtype: TorchStorageDType
    /// The values, converted to Float32, contiguous.
    public let tensor: Tensor
}

/// One key-value pair of a checkpoint dict, in file order.
public struct TorchDictEntry: Sendable {
    public let key: TorchValue
    public let value: TorchValue
}

/// A value decoded from a checkpoint's pickle: only containers, primitives and tensors.
public indirect enum TorchValue: Sendable {
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case list([TorchValue])
    case tuple([TorchValue])
    case dict([TorchDictEntry])
    case tensor(TorchTensor)

    /// The value stored under string key `key` when this is a dict.
    public subscript(key: String) -> TorchValue? {
        guard case .dict(let entries) = self else { return nil }
        return entries.first { if case .string(key) = $0.key { return true } else { return false } }?.value
    }

    /// The elements when this is a list or tuple.
    public var elements: [TorchValue]? {
        switch self {
        case .list(let items), .tuple(let items): return items
        default: return nil
        }
    }

    /// The integer when this is an int.
    public var intValue: Int? { if case .int(let v) = self { return v } else { return nil } }
    /// The tensor when this is a tensor.
    public var tensorValue: TorchTensor? { if case .tensor(let t) = self { return t } else { return nil } }

    /// Every tensor reachable through dicts (string or int keys), lists and tuples, keyed by the
    /// dotted path to it, state_dict style: `{"a": {"b": t}}` gives `"a.b"`, list items `"a.0"`.
    public func flattenedTensors(prefix: String = "") -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        collect(prefix: prefix, into: &out)
        return out
    }

    private func collect(prefix: String, into out: inout [String: Tensor]) {
        func join(_ key: String) -> String { prefix.isEmpty ? key : prefix + "." + key }
        switch self {
        case .tensor(let t): out[prefix] = t.tensor
        case .list(let items), .tuple(let items):
            for (i, item) in items.enumerated() { item.collect(prefix: join(String(i)), into: &out) }
        case .dict(let entries):
            for e in entries {
                switch e.key {
                case .string(let s): e.value.collect(prefix: join(s), into: &out)
                case .int(let i): e.value.collect(prefix: join(String(i)), into: &out)
                default: continue
                }
            }
        default: break
        }
    }
}
