/// The allowed globals and the opcodes that apply them (REDUCE, BUILD, BINPERSID).
extension TorchPickleMachine {
    /// Maps an allowed (module, name) pair to its global; refuses everything else.
    static func resolve(module: String, name: String, offset: Int) throws -> TorchPickleGlobal {
        switch (module, name) {
        case ("collections", "OrderedDict"): return .orderedDict
        case ("torch._utils", "_rebuild_tensor_v2"): return .rebuildTensor
        case ("torch._utils", "_rebuild_parameter"): return .rebuildParameter
        default:
            if module == "torch", let dtype = TorchStorageDType(rawValue: name) { return .storage(dtype) }
            throw TorchCheckpointError.forbiddenGlobal(module: module, name: name, offset: offset)
        }
    }

    mutating func setItems(_ items: [TorchPickleObject]) throws {
        guard items.count % 2 == 0 else { throw fail("SETITEMS needs key-value pairs, got \(items.count) items") }
        guard case .dict(let d) = try pop() else { throw fail("SETITEM target is not a dict") }
        for i in stride(from: 0, to: items.count, by: 2) {
            if case .tensor = items[i] { throw fail("tensor used as a dict key") }
            d.pairs.append((items[i], items[i + 1]))
        }
        try push(.dict(d))
    }

    mutating func append(_ items: [TorchPickleObject]) throws {
        guard case .list(let l) = try pop() else { throw fail("APPEND target is not a list") }
        l.items += items
        try push(.list(l))
    }

    /// BUILD: only an attribute dict on an OrderedDict (state_dict `_metadata`) is accepted, and ignored.
    mutating func build() throws {
        let state = try pop()
        let target = try pop()
        switch (target, state) {
        case (.dict, .dict), (.dict, .none), (.tensor, .none): try push(target)
        default: throw fail("BUILD of \(target.kindName) with \(state.kindName) state is not supported")
        }
    }

    mutating func reduce() throws {
        let args = try pop()
        guard case .global(let g) = try pop() else { throw fail("REDUCE target is not an allowed global") }
        guard case .tuple(let a) = args else { throw fail("REDUCE arguments are \(args.kindName), not a tuple") }
        switch g {
        case .orderedDict:
            guard a.isEmpty else { throw fail("OrderedDict with \(a.count) arguments") }
            try push(container(.dict(TorchPickleDict())))
        case .rebuildTensor:
            try push(.tensor(try rebuildTensor(a)))
        case .rebuildParameter:
            guard a.count >= 1, case .tensor(let t) = a[0] else { throw fail("_rebuild_parameter needs a tensor") }
            try push(.tensor(t))
        case .storage(let dtype):
            throw fail("storage type \(dtype.rawValue) cannot be called")
        }
    }

    /// _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]).
    func rebuildTensor(_ a: [TorchPickleObject]) throws -> TorchTensor {
        guard a.count >= 4, case .storage(let s) = a[0], case .int(let offset) = a[1] else {
            throw fail("_rebuild_tensor_v2 needs (storage, offset, size, stride, ...)")
        }
        return try rebuild(s, offset, try integers(a[2], "size"), try integers(a[3], "stride"))
    }

    func integers(_ o: TorchPickleObject, _ field: String) throws -> [Int] {
        guard case .tuple(let items) = o else { throw fail("tensor \(field) is \(o.kindName), not a tuple") }
        return try items.map {
            guard case .int(let v) = $0 else { throw fail("tensor \(field) holds \($0.kindName), not int") }
            return v
        }
    }

    /// Decodes a persistent id ('storage', storage_type, key, location, numel).
    func persistentStorage(_ pid: TorchPickleObject) throws -> TorchStorageRef {
        guard case .tuple(let p) = pid, p.count == 5, case .string("storage") = p[0] else {
            throw fail("persistent id is not ('storage', type, key, location, numel)")
        }
        guard case .global(.storage(let dtype)) = p[1] else { throw fail("persistent id storage type is \(p[1].kindName)") }
        guard case .string(let key) = p[2], case .int(let numel) = p[4], numel >= 0 else {
            throw fail("persistent id needs a string key and a non-negative element count")
        }
        return TorchStorageRef(dtype: dtype, key: key, numel: numel)
    }
}
