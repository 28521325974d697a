import Foundation

/// HTML escaping and the page frame shared by every browser page: inline CSS and one small
/// vanilla script (click a table header to sort its rows), nothing fetched from elsewhere.
enum HTML {
    /// `text` with `&`, `<`, `>`, `"` and `'` replaced by their character references,
    /// safe both between tags and inside a double- or single-quoted attribute.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// `text` percent-encoded for a query value in a link (letters, digits and -._~ kept).
    static func queryValue(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    /// A token piece made visible: newlines as ⏎, tabs as →, then escaped.
    static func piece(_ text: String) -> String {
        escape(text.replacingOccurrences(of: "\n", with: "⏎").replacingOccurrences(of: "\t", with: "→"))
    }

    /// A number with `digits` decimals (and no exponent for ordinary magnitudes).
    static func number(_ value: Double, digits: Int = 3) -> String {
        guard value.isFinite else { return "\(value)" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        if rounded == rounded.rounded() && abs(rounded) < 1e15 { return "\(Int(rounded))" }
        return "\(rounded)"
    }

    /// The whole document: `title` in the head and a heading, a navigation line of
    /// (label, href) pairs, then `body`.
    static func document(title: String, breadcrumbs: [(String, String)], body: String) -> String {
        let nav = breadcrumbs.map { "<a href=\"\(escape($0.1))\">\(escape($0.0))</a>" }.joined(separator: " › ")
        return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(escape(title)) — intervene</title>
        <style>\(style)</style></head>
        <body><nav>\(nav)</nav><h1>\(escape(title))</h1>
        \(body)
        <script>\(script)</script>
        </body></html>
        """
    }

    /// A table: header labels (columns marked numeric sort by value) and rows of cell HTML.
    static func table(_ header: [(label: String, numeric: Bool)], rows: [[String]], id: String? = nil) -> String {
        var out = "<table class=\"sortable\"\(id.map { " id=\"\(escape($0))\"" } ?? "")><thead><tr>"
        for h in header { out += "<th data-numeric=\"\(h.numeric)\">\(escape(h.label))</th>" }
        out += "</tr></thead><tbody>"
        for row in rows { out += "<tr>" + row.map { "<td>\($0)</td>" }.joined() + "</tr>" }
        return out + "</tbody></table>"
    }

    /// A definition list of (term, value HTML) pairs.
    static func facts(_ pairs: [(String, String)]) -> String {
        "<dl>" + pairs.map { "<dt>\(escape($0.0))</dt><dd>\($0.1)</dd>" }.joined() + "</dl>"
    }

    static let style = """
    body{font:14px/1.45 system-ui,sans-serif;margin:1.5em auto;max-width:72em;padding:0 1em;color:#222}
    nav{font-size:13px;margin-bottom:.5em}h1{font-size:1.5em;margin:.2em 0 .6em}h2{font-size:1.15em;margin-top:1.4em}
    table{border-collapse:collapse;margin:.5em 0}th,td{border-bottom:1px solid #ddd;padding:2px 8px;text-align:left}
    th{cursor:pointer;background:#f4f4f4;user-select:none}td{font-variant-numeric:tabular-nums}
    dl{display:grid;grid-template-columns:max-content auto;gap:2px 1em}dt{color:#555}dd{margin:0}
    .error{background:#fde8e8;border:1px solid #e0a0a0;padding:.6em 1em;border-radius:4px}
    .ctx{font-family:ui-monospace,monospace;white-space:pre-wrap;margin:3px 0;padding:3px 6px;background:#fafafa;border-left:3px solid #ddd}
    .tok{border-radius:2px}.hit{background:#f6a04d;font-weight:bold}.also{background:#fbd9b5}
    .meta{color:#777;font-size:12px;margin-right:.8em}
    form label{margin-right:1em}input[type=text]{width:22em}input[type=text][size]{width:auto}.bar{fill:#4a7bd0}.bar:hover{fill:#f6a04d}
    """

    static let script = """
    document.querySelectorAll('table.sortable th').forEach(function(th,col){th.title='click to sort';
    th.addEventListener('click',function(){var tb=th.closest('table').tBodies[0],num=th.dataset.numeric==='true',
    down=th.dataset.dir!=='down';th.dataset.dir=down?'down':'up';
    var rows=Array.prototype.slice.call(tb.rows);rows.sort(function(a,b){var x=a.cells[col].textContent,y=b.cells[col].textContent;
    var c=num?(parseFloat(x)-parseFloat(y)):x.localeCompare(y);return down?-c:c;});rows.forEach(function(r){tb.appendChild(r);});});});
    document.body.dataset.scripted='yes';
    """
}
