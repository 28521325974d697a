import Foundation
import Testing
@testable import CausalAbstraction
import Tensors

@Suite struct CausalModelTests {
    /// A table-defined AND of two bits, with an OR sharing a parent.
    func andModel() throws -> CausalModel {
        let bits: [CausalValue] = [.int(0), .int(1)]
        var and: [[CausalValue]: CausalValue] = [:], or: [[CausalValue]: CausalValue] = [:]
        for a in 0...1 { for b in 0...1 { and[[.int(a), .int(b)]] = .int(a & b); or[[.int(a), .int(b)]] = .int(a | b) } }
        return try CausalModel([
            .input("A", domain: bits, position: 0), .input("B", domain: bits, position: 1),
            CausalVariable("AND", domain: bits, parents: ["A", "B"], mechanism: .table(and)),
            CausalVariable("OUT", domain: [.string("no"), .string("yes")], parents: ["AND"],
                           mechanism: .table([[.int(0)]: .string("no"), [.int(1)]: .string("yes")]), position: 0),
        ])
    }

    @Test func runsForwardWithInterventionsAndInterchange() throws {
        let model = try andModel()
        #expect(model.order == ["A", "B", "AND", "OUT"] && model.inputs == ["A", "B"] && model.outputs == ["OUT"])
        let run = try model.run(inputs: ["A": .int(1), "B": .int(1)])
        #expect(run["AND"] == .int(1) && run["OUT"] == .string("yes"))
        let fixed = try model.run(inputs: ["A": .int(1), "B": .int(1)], interventions: ["AND": .int(0)])
        #expect(fixed["AND"] == .int(0) && fixed["OUT"] == .string("no") && fixed["A"] == .int(1))
        let cf = try model.interchange(base: ["A": .int(0), "B": .int(0)], source: ["A": .int(1), "B": .int(1)], variables: ["AND"])
        #expect(cf["OUT"] == .string("yes"))
        let inputSwap = try model.interchange(base: ["A": .int(0), "B": .int(1)], source: ["A": .int(1), "B": .int(0)], variables: ["A"])
        #expect(inputSwap["A"] == .int(1) && inputSwap["OUT"] == .string("yes"))
    }

    @Test func hierarchicalEqualityAgreesWithTheTask() throws {
        let model = try HierarchicalEqualityTask.causalModel()
        let task = HierarchicalEqualityTask(seed: 0)
        for example in task.sample(500, seed: 7) {
            let base = HierarchicalEqualityTask.causalInputs(example.base), source = HierarchicalEqualityTask.causalInputs(example.source)
            #expect(try model.run(inputs: base)["O"] == .bool(example.label == 1))
            for variable in [HierarchicalEqualityTask.Variable.leftEquality, .rightEquality] {
                let cf = try model.interchange(base: base, source: source, variables: [HierarchicalEqualityTask.causalVariable(variable)])
                #expect(cf["O"] == .bool(example.counterfactualLabel(variable) == 1))
            }
        }
        // And on the causal model's own (uniform and balanced) samples.
        let sampled = try CounterfactualDataset.sample(model, count: 200, variables: [["YZ"]], seed: 3)
        for e in sampled {
            let pair = HierarchicalEqualityTask.Example(base: HierarchicalEqualityTask.objectIDs(e.base)!, source: HierarchicalEqualityTask.objectIDs(e.sources[0])!)
            #expect(e.counterfactualLabel == .bool(pair.counterfactualLabel(.rightEquality) == 1) && e.baseLabel == .bool(pair.label == 1))
        }
    }

    @Test func dotExport() throws {
        let dot = try andModel().dot(name: "and")
        #expect(dot.hasPrefix("digraph \"and\" {\n  rankdir=BT;\n"))
        #expect(dot.contains("  \"A\" [label=\"A\\n{0, 1}\", shape=box, pos=\"0,0!\"];\n"))
        #expect(dot.contains("  \"AND\" [label=\"AND\\n{0, 1}\", shape=ellipse];\n"))
        #expect(dot.contains("  \"OUT\" [label=\"OUT\\n{\\\"no\\\", \\\"yes\\\"}\", shape=doublecircle, pos=\"0,2!\"];\n"))
        #expect(dot.contains("  \"A\" -> \"AND\";\n  \"B\" -> \"AND\";\n  \"AND\" -> \"OUT\";\n}\n"))
        let he = try HierarchicalEqualityTask.causalModel().dot()
        #expect(he.contains("\"W\" [label=\"W\", shape=box") && he.contains("\"WX\" -> \"O\";"))
    }

    @Test func tableModelJSONRoundTrip() throws {
        let model = try andModel()
        let data = try model.json()
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"table\"") && text.contains("\"yes\""))
        let back = try CausalModel(json: data)
        #expect(back.order == model.order && back.variables.map(\.domain) == model.variables.map(\.domain))
        #expect(back.variables.map(\.parents) == model.variables.map(\.parents) && back.variables.map(\.position) == model.variables.map(\.position))
        for a in 0...1 { for b in 0...1 {
            let inputs: CausalSetting = ["A": .int(a), "B": .int(b)]
            #expect(try back.run(inputs: inputs) == model.run(inputs: inputs))
        } }
        #expect(try back.json() == data)
        #expect(throws: CausalModelError.notSerializable(variable: "WX")) { try HierarchicalEqualityTask.causalModel().json() }
    }

    @Test func typedErrors() throws {
        let bits: [CausalValue] = [.int(0), .int(1)]
        let id: @Sendable ([CausalValue]) -> CausalValue = { $0[0] }
        #expect(throws: CausalModelError.cycle(["P", "Q", "P"])) {
            try CausalModel([.input("I", domain: bits), CausalVariable("P", domain: bits, parents: ["Q"], mechanism: .closure(id)),
                             CausalVariable("Q", domain: bits, parents: ["P"], mechanism: .closure(id))])
        }
        #expect(throws: CausalModelError.unknownVariable(name: "C", context: "parent of 'B'", known: ["A", "B"])) {
            try CausalModel([.input("A", domain: bits), CausalVariable("B", domain: bits, parents: ["C"], mechanism: .closure(id))])
        }
        let model = try andModel()
        #expect(throws: CausalModelError.valueOutsideDomain(variable: "A", value: .int(2), domain: bits)) {
            try model.run(inputs: ["A": .int(2), "B": .int(0)])
        }
        #expect(throws: CausalModelError.valueOutsideDomain(variable: "AND", value: .bool(true), domain: bits)) {
            try model.run(inputs: ["A": .int(0), "B": .int(0)], interventions: ["AND": .bool(true)])
        }
        #expect(throws: CausalModelError.unknownVariable(name: "Z", context: "interchange variable", known: ["A", "B", "AND", "OUT"])) {
            try model.interchange(base: ["A": .int(0), "B": .int(0)], source: ["A": .int(0), "B": .int(0)], variables: ["Z"])
        }
        #expect(throws: CausalModelError.missingInput(variable: "B")) { try model.run(inputs: ["A": .int(0)]) }
        #expect(throws: CausalModelError.notAnInput(variable: "AND")) { try model.run(inputs: ["A": .int(0), "B": .int(0), "AND": .int(1)]) }
        struct Boom: Error {}
        let throwing = try CausalModel([.input("A", domain: bits),
                                        CausalVariable("B", domain: bits, parents: ["A"], mechanism: .closure { _ in throw Boom() })])
        #expect(throws: CausalModelError.mechanismFailed(variable: "B", reason: "Boom()")) { try throwing.run(inputs: ["A": .int(0)]) }
        let outside = try CausalModel([.input("A", domain: bits), CausalVariable("B", domain: bits, parents: ["A"], mechanism: .closure { _ in .int(5) })])
        #expect(throws: CausalModelError.valueOutsideDomain(variable: "B", value: .int(5), domain: bits)) { try outside.run(inputs: ["A": .int(1)]) }
    }

    /// The remaining ways a run can go wrong, each a typed error naming the variable: an input or
    /// intervention on a variable that does not exist, a table without a row for the parents'
    /// values, a self-loop, and a throwing mechanism reached through an interchange's source run.
    @Test func moreTypedErrorsNameTheVariable() throws {
        let model = try andModel()
        let known = ["A", "B", "AND", "OUT"]
        #expect(throws: CausalModelError.unknownVariable(name: "Q", context: "input", known: known)) {
            try model.run(inputs: ["A": .int(0), "B": .int(0), "Q": .int(1)])
        }
        #expect(throws: CausalModelError.unknownVariable(name: "Q", context: "intervention", known: known)) {
            try model.run(inputs: ["A": .int(0), "B": .int(0)], interventions: ["Q": .int(1)])
        }
        let bits: [CausalValue] = [.int(0), .int(1)]
        let partial = try CausalModel([.input("A", domain: bits),
                                       CausalVariable("B", domain: bits, parents: ["A"], mechanism: .table([[.int(0)]: .int(1)]))])
        #expect(throws: CausalModelError.mechanismFailed(variable: "B", reason: "the table has no row for parent values [1]")) {
            try partial.run(inputs: ["A": .int(1)])
        }
        let id: @Sendable ([CausalValue]) -> CausalValue = { $0[0] }
        do {
            _ = try CausalModel([.input("I", domain: bits), CausalVariable("P", domain: bits, parents: ["P"], mechanism: .closure(id))])
            Issue.record("a self-loop was accepted")
        } catch CausalModelError.cycle(let path) {
            #expect(path.first == "P" && path.last == "P")
        }
        struct Boom: Error {}
        let throwing = try CausalModel([.input("A", domain: bits),
                                        CausalVariable("B", domain: bits, parents: ["A"], mechanism: .closure { v in
                                            if v[0] == .int(1) { throw Boom() }
                                            return .int(0)
                                        })])
        #expect(throws: CausalModelError.mechanismFailed(variable: "B", reason: "Boom()")) {
            try throwing.interchange(base: ["A": .int(0)], source: ["A": .int(1)], variables: ["B"])
        }
        let messages: [(CausalModelError, String)] = [
            (.unknownVariable(name: "Q", context: "input", known: known), "unknown variable 'Q' (input); known: A, B, AND, OUT"),
            (.valueOutsideDomain(variable: "A", value: .int(2), domain: bits), "variable 'A' has value 2; allowed: 0, 1"),
            (.cycle(["P", "Q", "P"]), "cycle: P → Q → P"),
            (.mechanismFailed(variable: "B", reason: "Boom()"), "the mechanism of 'B' failed: Boom()"),
        ]
        for (error, message) in messages { #expect(error.description.contains(message), "\(error)") }
    }

    @Test func malformedJSONIsATypedError() throws {
        func read(_ text: String) throws { _ = try CausalModel(json: Data(text.utf8)) }
        #expect(throws: CausalModelError.self) { try read("{ nope") }
        do { try read(#"{"variables": [{"name": "A"}]}"#); Issue.record("expected an error") } catch CausalModelError.malformedJSON(let reason) {
            #expect(reason == "variables[0]: missing key 'domain'")
        }
        do { try read(#"{"variables": [{"name": "A", "domain": [1.5]}]}"#); Issue.record("expected an error") } catch CausalModelError.malformedJSON(let reason) {
            #expect(reason.hasPrefix("variables[0].domain[0]:"))
        }
        #expect(throws: CausalModelError.invalidVariable(variable: "B", reason: "has parents but no table (closure mechanisms cannot be read from JSON)")) {
            try read(#"{"variables": [{"name": "A", "domain": [0]}, {"name": "B", "domain": [0], "parents": ["A"]}]}"#)
        }
        #expect(throws: CausalModelError.valueOutsideDomain(variable: "B", value: .int(7), domain: [.int(0)])) {
            try read(#"{"variables": [{"name": "A", "domain": [0]}, {"name": "B", "domain": [0], "parents": ["A"], "table": [{"parents": [0], "value": 7}]}]}"#)
        }
        #expect(throws: CausalModelError.cycle(["B", "C", "B"])) {
            try read(#"{"variables": [{"name": "B", "domain": [0], "parents": ["C"], "table": []}, {"name": "C", "domain": [0], "parents": ["B"], "table": []}]}"#)
        }
    }

    @Test func samplersAreSeededBalancedAndFiltered() throws {
        let model = try andModel()
        #expect(model.sampleInputs(50, seed: 1) == model.sampleInputs(50, seed: 1))
        let uniform = model.sampleInputs(4_000, seed: 2).filter { $0["A"] == .int(1) }.count
        #expect(abs(uniform - 2_000) < 150)
        let balanced = try model.sampleBalanced(101, seed: 3)
        let yes = try balanced.filter { try model.run(inputs: $0)["OUT"] == .string("yes") }.count
        #expect(balanced.count == 101 && yes == 50)  // "no" comes first in the domain and gets the extra one
        let filtered = try model.sampleInputs(20, seed: 4) { $0["A"] == .int(0) }
        #expect(filtered.count == 20 && filtered.allSatisfy { $0["A"] == .int(0) })
        #expect(throws: CausalModelError.self) { try model.sampleInputs(1, seed: 5, maxAttempts: 100) { $0["A"] == .int(7) } }
        let he = try HierarchicalEqualityTask.causalModel()
        let heBalanced = try he.sampleBalanced(200, seed: 6)
        #expect(try heBalanced.filter { try he.run(inputs: $0)["O"] == .bool(true) }.count == 100)
    }
}
