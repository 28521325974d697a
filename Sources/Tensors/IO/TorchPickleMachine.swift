/// A restricted pickle interpreter (protocol 2 subset). It builds only containers, primitives,
/// storages and tensors; any other global is refused by name and nothing is ever executed.
struct TorchPickleMachine {
    static let maximumStack = 1 << 20
    static let maximumMemo = 1 << 20

    let bytes: UnsafeRawBufferPointer
    /// Resolves a storage reference to a tensor given (storage, offset, size, stride).
    let rebuild: (TorchStorageRef, Int, [Int], [Int]) throws -> TorchTensor
    var at = 0
    var stack: [TorchPickleObject] = []
    var marks: [Int] = []
    var memo: [Int: TorchPickleObject] = [:]
    /// Every list and dict built, so `breakCycles()` can empty them: a pickle may put a list
    /// inside itself (through the memo), and such reference cycles would otherwise never be freed.
    var containers: [TorchPickleObject] = []

    init(bytes: UnsafeRawBufferPointer, rebuild: @escaping (TorchStorageRef, Int, [Int], [Int]) throws -> TorchTensor) {
        self.bytes = bytes
        self.rebuild = rebuild
    }

    /// Records a new list or dict for `breakCycles()` and returns it.
    mutating func container(_ o: TorchPickleObject) -> TorchPickleObject {
        containers.append(o)
        return o
    }

    /// Empties every list and dict the run built (call once their contents are converted or
    /// the run failed), releasing cycles among them; the stack and memo are cleared too.
    mutating func breakCycles() {
        for case .list(let l) in containers { l.items = [] }
        for case .dict(let d) in containers { d.pairs = [] }
        containers = []
        stack = []
        memo = [:]
    }

    func fail(_ reason: String) -> TorchCheckpointError { .invalidPickle(reason: reason, offset: at) }

    mutating func take(_ n: Int) throws -> UnsafeRawBufferPointer {
        guard n >= 0, n <= bytes.count - at else { throw fail("needs \(n) bytes, \(bytes.count - at) remain") }
        defer { at += n }
        return UnsafeRawBufferPointer(rebasing: bytes[at..<(at + n)])
    }

    mutating func unsigned(_ n: Int) throws -> Int {
        let b = try take(n)
        var v = 0
        for i in (0..<n).reversed() { v = v << 8 | Int(b[i]) }
        return v
    }

    mutating func line() throws -> String {
        guard let end = bytes[at...].firstIndex(of: 0x0A) else { throw fail("unterminated text line") }
        let s = String(decoding: try take(end - at), as: UTF8.self)
        at += 1
        return s
    }

    mutating func push(_ o: TorchPickleObject) throws {
        guard stack.count < Self.maximumStack else { throw TorchCheckpointError.limitExceeded(what: "stack", limit: Self.maximumStack, offset: at) }
        stack.append(o)
    }

    mutating func pop() throws -> TorchPickleObject {
        guard let top = stack.popLast() else { throw fail("stack underflow") }
        if case .mark = top { throw fail("unexpected mark") }
        return top
    }

    /// Pops everything above the most recent mark.
    mutating func popToMark() throws -> [TorchPickleObject] {
        guard let m = marks.popLast(), m < stack.count else { throw fail("no mark on the stack") }
        let items = Array(stack[(m + 1)...])
        stack.removeSubrange(m...)
        return items
    }

    mutating func put(_ index: Int) throws {
        guard let top = stack.last else { throw fail("memo put on an empty stack") }
        guard memo.count < Self.maximumMemo || memo[index] != nil else {
            throw TorchCheckpointError.limitExceeded(what: "memo", limit: Self.maximumMemo, offset: at)
        }
        memo[index] = top
    }

    mutating func get(_ index: Int) throws {
        guard let o = memo[index] else { throw fail("memo index \(index) was never stored") }
        try push(o)
    }

    /// Runs the pickle to its STOP opcode and returns the result.
    mutating func run() throws -> TorchPickleObject {
        while at < bytes.count {
            let offset = at
            let op = bytes[at]
            at += 1
            if op == 0x2E { // STOP
                let result = try pop()
                return result
            }
            try step(op, offset: offset)
        }
        throw fail("no STOP opcode")
    }

    mutating func step(_ op: UInt8, offset: Int) throws {
        switch op {
        case 0x80: _ = try take(1)                                   // PROTO
        case 0x95: _ = try take(8)                                   // FRAME
        case 0x28: marks.append(stack.count); try push(.mark)       // MARK
        case 0x7D: try push(container(.dict(TorchPickleDict())))     // EMPTY_DICT
        case 0x5D: try push(container(.list(TorchPickleList())))     // EMPTY_LIST
        case 0x29: try push(.tuple([]))                              // EMPTY_TUPLE
        case 0x74: try push(.tuple(try popToMark()))                 // TUPLE
        case 0x85, 0x86, 0x87:                                        // TUPLE1-3
            let n = Int(op - 0x84)
            guard stack.count >= n else { throw fail("TUPLE\(n) needs \(n) items") }
            var items: [TorchPickleObject] = []
            for _ in 0..<n { items.insert(try pop(), at: 0) }
            try push(.tuple(items))
        case 0x73: let v = try pop(); let k = try pop(); try setItems([k, v])  // SETITEM
        case 0x75: try setItems(try popToMark())                     // SETITEMS
        case 0x61: try append([try pop()])                           // APPEND
        case 0x65: try append(try popToMark())                       // APPENDS
        case 0x71: try put(try unsigned(1))                          // BINPUT
        case 0x72: try put(try unsigned(4))                          // LONG_BINPUT
        case 0x94: try put(memo.count)                               // MEMOIZE
        case 0x68: try get(try unsigned(1))                          // BINGET
        case 0x6A: try get(try unsigned(4))                          // LONG_BINGET
        default: try stepValue(op, offset: offset)
        }
    }

    mutating func stepValue(_ op: UInt8, offset: Int) throws {
        switch op {
        case 0x4A: try push(.int(Int(Int32(truncatingIfNeeded: try unsigned(4)))))  // BININT
        case 0x4B: try push(.int(try unsigned(1)))                   // BININT1
        case 0x4D: try push(.int(try unsigned(2)))                   // BININT2
        case 0x8A: try push(.int(try long1()))                       // LONG1
        case 0x47:                                                   // BINFLOAT (big-endian)
            let b = try take(8)
            var bits: UInt64 = 0
            for i in 0..<8 { bits = bits << 8 | UInt64(b[i]) }
            try push(.double(Double(bitPattern: bits)))
        case 0x58: try pushString(try unsigned(4))                   // BINUNICODE
        case 0x8C: try pushString(try unsigned(1))                   // SHORT_BINUNICODE
        case 0x8D: try pushString(try unsigned(8))                   // BINUNICODE8
        case 0x4E: try push(.none)                                   // NONE
        case 0x88: try push(.bool(true))                             // NEWTRUE
        case 0x89: try push(.bool(false))                            // NEWFALSE
        case 0x63:                                                   // GLOBAL
            let module = try line(), name = try line()
            try push(.global(try Self.resolve(module: module, name: name, offset: offset)))
        case 0x93:                                                   // STACK_GLOBAL
            let name = try pop(), module = try pop()
            guard case .string(let n) = name, case .string(let m) = module else { throw fail("STACK_GLOBAL needs two strings") }
            try push(.global(try Self.resolve(module: m, name: n, offset: offset)))
        case 0x52: try reduce()                                      // REDUCE
        case 0x62: try build()                                       // BUILD
        case 0x51: try push(.storage(try persistentStorage(try pop())))  // BINPERSID
        default: throw TorchCheckpointError.unknownOpcode(opcode: op, offset: offset)
        }
    }

    mutating func long1() throws -> Int {
        let n = try unsigned(1)
        guard n <= 8 else { throw fail("LONG1 of \(n) bytes does not fit 64 bits") }
        guard n > 0 else { return 0 }
        let b = try take(n)
        var v: UInt64 = 0
        for i in (0..<n).reversed() { v = v << 8 | UInt64(b[i]) }
        if n < 8 && b[n - 1] & 0x80 != 0 { v |= ~UInt64(0) << UInt64(8 * n) }  // sign-extend
        return Int(Int64(bitPattern: v))
    }

    mutating func pushString(_ n: Int) throws {
        guard let s = String(validating: try take(n), as: UTF8.self) else { throw fail("string is not UTF-8") }
        try push(.string(s))
    }
}
