import Tensors

/// The bundle inspector: what a saved bundle folder holds, read at start-up — the model it was
/// made for, its config (sites and intervention types), its interventions or codebooks with
/// their hyperparameters, metrics, provenance, the names, dtypes and shapes of its tensors (never
/// their values) and its README card as escaped preformatted text.
struct BundlePages {
    let links: LinkStyle
    let bundle: BundleContents

    var json: JSONValue { bundle.json }

    /// The numeric metrics of a bundle.json, sorted by name.
    static func metrics(_ json: JSONValue) -> [(String, Double)] {
        (json["metrics"]?.objectValue ?? JSONObject()).compactMap { k, v in v.doubleValue.map { (k, $0) } }.sorted { $0.0 < $1.0 }
    }

    /// A JSON value as short text: strings bare, objects as "k = v" pairs, arrays comma-separated.
    static func text(_ value: JSONValue?) -> String {
        guard let value else { return "" }
        switch value {
        case .string(let s): return s
        case .array(let items): return items.map { text($0) }.joined(separator: ", ")
        case .object(let o): return o.map { "\($0.key) = \(text($0.value))" }.joined(separator: ", ")
        default: return value.serialized()
        }
    }

    /// A table of a list of JSON objects: one column per key (in first-seen order), one row per object.
    static func objectTable(_ items: [JSONValue], id: String) -> String {
        var keys: [String] = []
        for item in items { for (k, _) in item.objectValue ?? JSONObject() where !keys.contains(k) { keys.append(k) } }
        let numeric = keys.map { k in items.allSatisfy { $0[k] == nil || $0[k]?.doubleValue != nil } }
        return HTML.table(zip(keys, numeric).map { ($0, $1) }, rows: items.map { item in keys.map { HTML.escape(text(item[$0])) } }, id: id)
    }

    /// The inspector page with `title` and `crumbs`.
    func page(title: String, crumbs: [(String, String)]) -> String {
        let model = json["model"]
        var facts: [(String, String)] = [
            ("format", HTML.escape("\(Self.text(json["format"])) version \(Self.text(json["version"]))")),
            ("model", HTML.escape("\(Self.text(model?["model_type"])) from \(Self.text(model?["source"]))")),
            ("fingerprint", "<code>\(HTML.escape(Self.text(model?["fingerprint"])))</code>"),
        ]
        for (k, v) in json["provenance"]?.objectValue ?? JSONObject() { facts.append(("provenance: " + k, HTML.escape(Self.text(v)))) }
        var body = HTML.facts(facts)
        if let config = json["config"]?.objectValue {
            body += "<h2>Config</h2>"
            let scalars = config.filter { if case .array = $0.value { return false }; return true }
            body += HTML.facts(scalars.map { ($0.key, HTML.escape(Self.text($0.value))) })
            if let representations = config["representations"]?.arrayValue {
                body += "<h3>Sites (representations)</h3>" + Self.objectTable(representations, id: "representations")
            }
        }
        if let interventions = json["interventions"]?.arrayValue {
            body += "<h2>Interventions</h2>"
            body += HTML.table([("key", false), ("type", false), ("hyperparameters", false), ("tensors", true)], rows: interventions.map { i in
                [HTML.escape(Self.text(i["key"])), HTML.escape(Self.text(i["type"])), HTML.escape(Self.text(i["hyperparameters"])),
                 "\(i["tensors"]?.arrayValue?.count ?? 0)"]
            }, id: "interventions")
        }
        if let codebooks = json["codebooks"]?.arrayValue {
            body += "<h2>Codebooks</h2>" + Self.objectTable(codebooks, id: "codebooks")
        }
        body += "<h2>Metrics</h2>"
        let metrics = Self.metrics(json)
        body += metrics.isEmpty ? "<p>No metrics recorded.</p>"
            : HTML.table([("metric", false), ("value", true)], rows: metrics.map { [HTML.escape($0.0), HTML.number($0.1, digits: 4)] }, id: "metrics")
        body += "<h2>Weights</h2>"
        if bundle.hasWeights {
            let total = bundle.tensors.map { $0.shape.reduce(1, *) }.reduce(0, +)
            body += "<p>weights.safetensors: \(bundle.tensors.count) tensors, \(total) values (names, dtypes and shapes from its header)</p>"
            body += HTML.table([("tensor", false), ("dtype", false), ("shape", false), ("elements", true)], rows: bundle.tensors.map { t in
                ["<code>\(HTML.escape(t.name))</code>", t.dtype.rawValue, "[" + t.shape.map(String.init).joined(separator: ", ") + "]", "\(t.shape.reduce(1, *))"]
            }, id: "tensors")
        } else {
            body += "<p>No weights.safetensors in this folder.</p>"
        }
        body += "<h2>Card (README.md)</h2>"
        body += bundle.card.map { "<pre id=\"card\" style=\"white-space:pre-wrap;background:#fafafa;padding:.6em;border:1px solid #ddd\">\(HTML.escape($0))</pre>" } ?? "<p>No README.md in this folder.</p>"
        return HTML.document(title: title, breadcrumbs: crumbs, body: body)
    }
}
