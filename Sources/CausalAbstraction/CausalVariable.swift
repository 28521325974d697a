/// One variable of a `CausalModel`: a name, a finite value domain, its parents and how its value
/// is computed from theirs.
public struct CausalVariable: Sendable {
    /// How a variable gets its value.
    public enum Mechanism: Sendable {
        /// An input: no parents, its value is given to every run.
        case input
        /// A Swift closure of the parents' values, in `parents` order. Code-only: a model with a
        /// closure mechanism cannot be written to JSON. A thrown error becomes
        /// `CausalModelError.mechanismFailed`.
        case closure(@Sendable ([CausalValue]) throws -> CausalValue)
        /// A lookup table from the parents' values (in `parents` order) to the value; a parent
        /// combination without a row is a `mechanismFailed` error at run time.
        case table([[CausalValue]: CausalValue])
    }

    public var name: String
    /// The values the variable may take (in this order for samplers and DOT).
    public var domain: [CausalValue]
    /// Parent variable names, in the order the mechanism receives their values.
    public var parents: [String]
    public var mechanism: Mechanism
    /// An optional position (e.g. the input slot or token a variable belongs to); DOT export
    /// uses it as the column of the node.
    public var position: Int?

    public init(_ name: String, domain: [CausalValue], parents: [String] = [], mechanism: Mechanism = .input, position: Int? = nil) {
        self.name = name
        self.domain = domain
        self.parents = parents
        self.mechanism = mechanism
        self.position = position
    }

    /// An input variable over `domain`.
    public static func input(_ name: String, domain: [CausalValue], position: Int? = nil) -> CausalVariable {
        CausalVariable(name, domain: domain, position: position)
    }

    /// True for input variables.
    public var isInput: Bool { if case .input = mechanism { return true }; return false }

    /// Checks the definition on its own (domain, input without parents, table arity and values).
    func validate() throws {
        guard !domain.isEmpty else { throw CausalModelError.invalidVariable(variable: name, reason: "the domain is empty") }
        guard Set(domain).count == domain.count else { throw CausalModelError.invalidVariable(variable: name, reason: "the domain repeats a value") }
        switch mechanism {
        case .input:
            guard parents.isEmpty else {
                throw CausalModelError.invalidVariable(variable: name, reason: "an input has no parents (got \(parents.joined(separator: ", ")))")
            }
        case .closure:
            break
        case .table(let table):
            for (key, value) in table {
                guard key.count == parents.count else {
                    throw CausalModelError.invalidVariable(variable: name, reason: "a table row has \(key.count) parent values; expected \(parents.count)")
                }
                guard domain.contains(value) else { throw CausalModelError.valueOutsideDomain(variable: name, value: value, domain: domain) }
            }
        }
    }

    /// The value from the parents' values; the result is checked against the domain.
    func compute(_ parentValues: [CausalValue]) throws -> CausalValue {
        let value: CausalValue
        switch mechanism {
        case .input:
            throw CausalModelError.missingInput(variable: name)
        case .closure(let f):
            do { value = try f(parentValues) } catch let error as CausalModelError { throw error } catch {
                throw CausalModelError.mechanismFailed(variable: name, reason: "\(error)")
            }
        case .table(let table):
            guard let v = table[parentValues] else {
                throw CausalModelError.mechanismFailed(variable: name, reason: "the table has no row for parent values [\(parentValues.map(\.description).joined(separator: ", "))]")
            }
            value = v
        }
        guard domain.contains(value) else { throw CausalModelError.valueOutsideDomain(variable: name, value: value, domain: domain) }
        return value
    }
}
