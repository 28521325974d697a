/// Graphviz export of a `CausalModel`.
extension CausalModel {
    /// The model as a Graphviz DOT digraph: one node per variable (inputs as boxes, outputs
    /// double circles, others ellipses; the label lists the domain when it has at most
    /// `maxDomainShown` values), one edge per parent link, and variables with a `position`
    /// pinned with `pos="position,level!"` (level = longest path from an input). Render with
    /// `dot -Tsvg` (or `neato -n` to honour positions).
    public func dot(name: String = "CausalModel", maxDomainShown: Int = 6) -> String {
        let outs = Set(outputs)
        var level: [String: Int] = [:]
        for n in order { level[n] = (variables[index[n]!].parents.map { level[$0]! + 1 }.max()) ?? 0 }
        func quote(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
        var lines = ["digraph \(quote(name)) {", "  rankdir=BT;"]
        for v in variables {
            let shape = v.isInput ? "box" : (outs.contains(v.name) ? "doublecircle" : "ellipse")
            var label = quote(v.name)
            if v.domain.count <= maxDomainShown {
                label = String(label.dropLast()) + "\\n" + String(quote("{" + v.domain.map(\.description).joined(separator: ", ") + "}").dropFirst())
            }
            var attributes = "label=\(label), shape=\(shape)"
            if let p = v.position { attributes += ", pos=\"\(p),\(level[v.name]!)!\"" }
            lines.append("  \(quote(v.name)) [\(attributes)];")
        }
        for v in variables { for p in v.parents { lines.append("  \(quote(p)) -> \(quote(v.name));") } }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }
}
