/// A high-level causal model: variables with finite domains, parent links forming a DAG, and a
/// mechanism per non-input variable. A run sets the inputs and computes every other variable in
/// topological order; an intervention fixes variables to given values (their mechanisms are
/// skipped, their descendants see the fixed value); an interchange intervention fixes variables
/// to the values they take on a source input — the counterfactual that alignment training asks
/// a network to reproduce.
public struct CausalModel: Sendable {
    /// The variables in declaration order.
    public let variables: [CausalVariable]
    /// Variable names in a topological order (every parent before its children; ties in
    /// declaration order).
    public let order: [String]
    let index: [String: Int]

    /// Builds and checks a model: unique names, known parents, valid domains and tables, and no
    /// cycle (`CausalModelError.cycle` names one).
    public init(_ variables: [CausalVariable]) throws {
        var index: [String: Int] = [:]
        for (i, v) in variables.enumerated() {
            guard index[v.name] == nil else { throw CausalModelError.duplicateVariable(v.name) }
            index[v.name] = i
        }
        for v in variables {
            try v.validate()
            for p in v.parents where index[p] == nil {
                throw CausalModelError.unknownVariable(name: p, context: "parent of '\(v.name)'", known: variables.map(\.name))
            }
        }
        self.variables = variables
        self.index = index
        self.order = try CausalModel.topologicalOrder(variables, index: index)
    }

    /// Kahn's algorithm; on a cycle, walks parent links from a leftover variable to name one.
    static func topologicalOrder(_ variables: [CausalVariable], index: [String: Int]) throws -> [String] {
        var remaining = variables.map { Set($0.parents).count }
        var children = Array(repeating: [Int](), count: variables.count)
        for (i, v) in variables.enumerated() { for p in Set(v.parents) { children[index[p]!].append(i) } }
        var ready = variables.indices.filter { remaining[$0] == 0 }, order: [String] = []
        while !ready.isEmpty {
            let i = ready.removeFirst()
            order.append(variables[i].name)
            for c in children[i].sorted() {
                remaining[c] -= 1
                if remaining[c] == 0 { ready.append(c) }
            }
        }
        guard order.count < variables.count else { return order }
        var current = variables.indices.first { remaining[$0] > 0 }!, path: [Int] = []
        while !path.contains(current) {
            path.append(current)
            current = variables[current].parents.map { index[$0]! }.first { remaining[$0] > 0 }!
        }
        // Parent-to-child order, starting at the variable declared first.
        var cycle = Array(path[path.firstIndex(of: current)!...].reversed())
        let start = cycle.firstIndex(of: cycle.min()!)!
        cycle = Array(cycle[start...] + cycle[..<start])
        throw CausalModelError.cycle((cycle + [cycle[0]]).map { variables[$0].name })
    }

    /// The variable called `name`.
    public func variable(_ name: String) throws -> CausalVariable {
        guard let i = index[name] else { throw CausalModelError.unknownVariable(name: name, context: "lookup", known: variables.map(\.name)) }
        return variables[i]
    }

    /// Input variable names, in declaration order.
    public var inputs: [String] { variables.filter(\.isInput).map(\.name) }
    /// Variables that are no variable's parent (the model's outputs), in declaration order.
    public var outputs: [String] {
        let parents = Set(variables.flatMap(\.parents))
        return variables.map(\.name).filter { !parents.contains($0) }
    }

    /// The single output variable; throws when the model has several (name one instead).
    public func soleOutput() throws -> String {
        let outs = outputs
        guard outs.count == 1 else {
            throw CausalModelError.invalidVariable(variable: "(output)", reason: "the model has \(outs.count) outputs (\(outs.joined(separator: ", "))); name one")
        }
        return outs[0]
    }

    /// Every variable's value when the inputs take `inputs` (all inputs, nothing else).
    public func run(inputs: CausalSetting) throws -> CausalSetting {
        try run(inputs: inputs, interventions: [:])
    }

    /// Every variable's value when the inputs take `inputs` and each variable in
    /// `interventions` is fixed to its value (inputs may be intervened on too). Values are
    /// checked against the domains.
    public func run(inputs: CausalSetting, interventions: CausalSetting) throws -> CausalSetting {
        for (name, value) in inputs {
            let v = try known(name, "input")
            guard v.isInput else { throw CausalModelError.notAnInput(variable: name) }
            try check(v, value)
        }
        for (name, value) in interventions { try check(try known(name, "intervention"), value) }
        var values: CausalSetting = [:]
        for name in order {
            let v = variables[index[name]!]
            if let fixed = interventions[name] { values[name] = fixed; continue }
            if v.isInput {
                guard let given = inputs[name] else { throw CausalModelError.missingInput(variable: name) }
                values[name] = given
            } else {
                values[name] = try v.compute(v.parents.map { values[$0]! })
            }
        }
        return values
    }

    /// The counterfactual run on `base` when each variable in `variables` takes the value it
    /// has on a run of `source`.
    public func interchange(base: CausalSetting, source: CausalSetting, variables: [String]) throws -> CausalSetting {
        try interchange(base: base, sources: [source], variables: [variables])
    }

    /// The counterfactual run on `base` when the variables in `variables[k]` take the values
    /// they have on a run of `sources[k]` (a later source wins on a variable named twice).
    public func interchange(base: CausalSetting, sources: [CausalSetting], variables: [[String]]) throws -> CausalSetting {
        guard sources.count == variables.count else {
            throw CausalModelError.invalidVariable(variable: "(interchange)", reason: "\(sources.count) sources but \(variables.count) variable lists")
        }
        var fixed: CausalSetting = [:]
        for (source, names) in zip(sources, variables) {
            let run = try self.run(inputs: source)
            for name in names { _ = try known(name, "interchange variable"); fixed[name] = run[name]! }
        }
        return try run(inputs: base, interventions: fixed)
    }

    func known(_ name: String, _ context: String) throws -> CausalVariable {
        guard let i = index[name] else { throw CausalModelError.unknownVariable(name: name, context: context, known: variables.map(\.name)) }
        return variables[i]
    }

    func check(_ v: CausalVariable, _ value: CausalValue) throws {
        guard v.domain.contains(value) else { throw CausalModelError.valueOutsideDomain(variable: v.name, value: value, domain: v.domain) }
    }
}
