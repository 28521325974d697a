import Tensors

/// Something that owns parameters, enumerated under Hugging Face dotted names
/// ("transformer.h.0.attn.c_attn.weight") so that checkpoints load by name.
public protocol Module: AnyObject {
    /// Calls `visit` with every parameter and its dotted name relative to this module.
    func visitParameters(_ visit: (String, Parameter) -> Void)
    /// Names under which a parameter shared with another name is visited a second time (tied
    /// weights, such as an output head tied to the input embedding); checkpoints may omit them.
    var tiedKeys: Set<String> { get }
    /// The direct sub-modules, each under the dotted name its parameters carry
    /// ("model.layers.3", "self_attn.q_proj"); empty for leaves.
    var children: [(name: String, module: any Module)] { get }
}

extension Module {
    public var tiedKeys: Set<String> { [] }
    public var children: [(name: String, module: any Module)] { [] }

    /// The sub-module at a dotted path of child names ("model.layers.3.mlp"), or nil. Child
    /// names may themselves contain dots; the longest matching child name wins.
    public func module(at path: String) -> (any Module)? {
        if path.isEmpty { return self }
        for (name, child) in children.sorted(by: { $0.name.count > $1.name.count }) {
            if path == name { return child }
            if path.hasPrefix(name + ".") { return child.module(at: String(path.dropFirst(name.count + 1))) }
        }
        return nil
    }

    /// Every sub-module below this one with its full dotted path, depth first.
    public var descendants: [(path: String, module: any Module)] {
        children.flatMap { name, child in [(name, child)] + child.descendants.map { (name + "." + $0.path, $0.module) } }
    }

    /// Every parameter with its dotted name, in visiting order.
    public var namedParameters: [(key: String, parameter: Parameter)] {
        var out: [(String, Parameter)] = []
        visitParameters { out.append(($0, $1)) }
        return out
    }

    /// Parameters by name (a tied parameter appears under each of its names).
    public var parameterDictionary: [String: Parameter] {
        Dictionary(namedParameters.map { ($0.key, $0.parameter) }, uniquingKeysWith: { a, _ in a })
    }

    /// Number of scalar parameters (tied parameters counted once).
    public var parameterCount: Int {
        var seen = Set<ObjectIdentifier>()
        var total = 0
        visitParameters { _, p in if seen.insert(ObjectIdentifier(p)).inserted { total += p.value.count } }
        return total
    }

    /// Stops computing gradients for every parameter (gradients still flow through them).
    public func freeze() { visitParameters { _, p in p.isTrainable = false } }

    /// Computes gradients for every parameter again. Throws `QuantizedWeightError.notTrainable`
    /// naming the first weight kept quantized (those are always frozen; nothing is changed then).
    public func unfreeze() throws {
        for (key, p) in namedParameters where p.quantized != nil { throw QuantizedWeightError.notTrainable(parameter: key) }
        visitParameters { _, p in p.isTrainable = true }
    }

    /// Loads parameters from `checkpoint` by name. With `strict`, any missing, unexpected or
    /// mis-shaped key throws `ModelError.checkpointMismatch`; otherwise the report lists them and
    /// matching keys load. Keys in `allowMissing` (tied weights) and `ignoreUnexpected` (buffers
    /// the model recomputes) are not reported.
    @discardableResult
    public func load(from checkpoint: Checkpoint, strict: Bool = true, allowMissing: Set<String> = [],
                     ignoreUnexpected: (String) -> Bool = { _ in false }) throws -> LoadReport {
        // Names and shapes are checked from the headers first, so a strict load that fails
        // changes nothing; tensors are then read and assigned one at a time (converted F16/BF16
        // copies never pile up).
        var report = LoadReport()
        var assignments: [(key: String, parameter: Parameter)] = []
        var used = Set<String>()
        let optional = allowMissing.union(tiedKeys)
        for (key, parameter) in namedParameters {
            guard let shape = checkpoint.shape(key) else {
                if !optional.contains(key) { report.missing.append(key) }
                continue
            }
            used.insert(key)
            guard shape == parameter.shape else {
                report.misshaped.append(.init(key: key, expected: parameter.shape, found: shape))
                continue
            }
            assignments.append((key, parameter))
        }
        report.unexpected = checkpoint.names.filter { !used.contains($0) && !ignoreUnexpected($0) }.sorted()
        if strict && !report.isClean { throw ModelError.checkpointMismatch(report) }
        for (key, parameter) in assignments { parameter.assign(try checkpoint.tensor(key)) }
        return report
    }

    /// Writes every parameter (tied ones once, under their first name) to a safetensors file.
    public func save(to path: String) throws {
        var items: [String: SafeTensorsWriter.Item] = [:]
        var seen = Set<ObjectIdentifier>()
        visitParameters { key, p in
            if seen.insert(ObjectIdentifier(p)).inserted { items[key] = .float(p.value) }
        }
        try SafeTensorsWriter.write(items, metadata: ["format": "pt"], to: path)
    }
}

/// Visits a child module's parameters under `prefix.`.
@inline(__always)
public func visit(_ child: Module, prefix: String, _ visit: (String, Parameter) -> Void) {
    child.visitParameters { visit(prefix + "." + $0, $1) }
}
