/// What can go wrong building, running or reading a `CausalModel`; each case names the variable
/// (or field), the bad value and what is allowed.
public enum CausalModelError: Error, Equatable, CustomStringConvertible {
    /// The parent links contain a cycle (the variables on it, in order).
    case cycle([String])
    /// `name` is used (as a parent, input, intervention or output) but not declared; `context` says where.
    case unknownVariable(name: String, context: String, known: [String])
    /// Two variables share a name.
    case duplicateVariable(String)
    /// `value` of `variable` is not in its domain.
    case valueOutsideDomain(variable: String, value: CausalValue, domain: [CausalValue])
    /// A variable's definition is inconsistent (empty domain, an input with parents, a table of the wrong arity …).
    case invalidVariable(variable: String, reason: String)
    /// An input variable has no value in a run.
    case missingInput(variable: String)
    /// `variable` is not an input (it has a mechanism) but was given as one.
    case notAnInput(variable: String)
    /// The mechanism of `variable` threw, or a table has no row for the parents' values.
    case mechanismFailed(variable: String, reason: String)
    /// JSON that is not a table-defined causal model; `reason` says what is wrong where.
    case malformedJSON(reason: String)
    /// A model with closure mechanisms cannot be written as JSON (closures are code-only).
    case notSerializable(variable: String)
    /// A sampler did not find what it needed within its attempt budget.
    case samplerExhausted(reason: String)

    public var description: String {
        switch self {
        case .cycle(let path): return "causal model: the parent links form a cycle: \(path.joined(separator: " → "))"
        case .unknownVariable(let name, let context, let known):
            return "causal model: unknown variable '\(name)' (\(context)); known: \(known.joined(separator: ", "))"
        case .duplicateVariable(let name): return "causal model: variable '\(name)' is declared twice"
        case .valueOutsideDomain(let variable, let value, let domain):
            return "causal model: variable '\(variable)' has value \(value); allowed: \(domain.map(\.description).joined(separator: ", "))"
        case .invalidVariable(let variable, let reason): return "causal model: variable '\(variable)': \(reason)"
        case .missingInput(let variable): return "causal model: input '\(variable)' has no value"
        case .notAnInput(let variable): return "causal model: '\(variable)' is computed by a mechanism, not an input; intervene on it instead"
        case .mechanismFailed(let variable, let reason): return "causal model: the mechanism of '\(variable)' failed: \(reason)"
        case .malformedJSON(let reason): return "causal model JSON: \(reason)"
        case .notSerializable(let variable):
            return "causal model: '\(variable)' has a closure mechanism; only table-defined mechanisms can be written as JSON"
        case .samplerExhausted(let reason): return "causal model sampler: \(reason)"
        }
    }
}
