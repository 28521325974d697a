import Features
import Foundation
import Models

/// The pages that run the model of `intervene serve --model`: `/live` (an intervention's
/// effect on the next token and on a greedy continuation) and the prompt box of a latent page.
struct LivePages {
    let site: BrowserSite
    let live: LiveModel

    /// Longest prompt accepted, in characters (that of any query value, 1,000).
    static let maxPrompt = BrowserRequest.maxValue
    /// Next tokens shown and tokens generated.
    static let top = 10, newTokens = 12
    /// The action names of the form.
    static let actions = ["zero", "scale", "latent-set", "latent-ablate", "code-force", "code-disable"]

    /// The prompt parameter: non-empty, at most `maxPrompt` characters, at least one token.
    func prompt(_ request: BrowserRequest) throws(PageError) -> (text: String, ids: [Int]) {
        let text = request.query["prompt"] ?? ""
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw .badRequest("prompt is empty; allowed: 1...\(Self.maxPrompt) characters") }
        guard text.count <= Self.maxPrompt else { throw .badRequest("prompt is \(text.count) characters long; allowed: at most \(Self.maxPrompt)") }
        let ids = live.encode(text)
        guard !ids.isEmpty else { throw .badRequest("prompt '\(text.prefix(80))' encodes to no tokens; allowed: text the tokenizer reads") }
        return (text, ids)
    }

    /// A site "LAYER:COMPONENT" (or any form `Site(parsing:)` reads) checked against the model's site table.
    func parseSite(_ text: String) throws(PageError) -> Site {
        do {
            let resolved = try live.model.siteTable.resolved(try Site(parsing: text))
            _ = try live.model.siteTable.spec(for: resolved)
            return resolved
        } catch {
            throw .badRequest("site is '\(text.prefix(80))': \(error); allowed: LAYER:COMPONENT of this model, e.g. 0:block_output")
        }
    }

    /// The latent caches whose SAE is loaded, as (cache index, site).
    var latentCaches: [(cache: Int, site: Site, latents: Int)] {
        site.caches.indices.compactMap { i in
            guard case .latents(_, let contents) = site.caches[i], live.autoencoders[i] != nil,
                  let s = try? Site(parsing: contents.manifest.site) else { return nil }
            return (cache: i, site: s, latents: contents.manifest.sae.dSae)
        }
    }

    /// `/live?prompt=&site=&action=&factor=&cache=&latent=&value=&codebook=&code=&slot=&position=&fill=`:
    /// the form, and with a prompt the top-10 next tokens and a 12-token greedy continuation
    /// before and after the action (code actions: `codeAction`).
    func page(_ request: BrowserRequest) throws(PageError) -> String {
        try request.allowOnly(["prompt", "site", "action", "factor", "cache", "latent", "value"] + Self.codeParameters)
        let q = request.query
        var body = form(q)
        if q["prompt"] != nil {
            let (_, ids) = try prompt(request)
            let action = try request.choice("action", among: Self.actions, default: "zero")
            var at = Site(layer: 0, component: .blockOutput)
            let edit: LiveAction
            var label: String?
            switch action {
            case "code-force", "code-disable":
                let (codeEdit, codeLabel) = try codeAction(action, request)
                edit = codeEdit
                label = codeLabel
            case "zero", "scale":
                at = try parseSite(q["site"] ?? "")
                let factor = Float(try request.decimal("factor", in: -100...100, default: 0))
                edit = action == "zero" ? .zero : .scale(factor)
            default:
                let caches = latentCaches
                guard !caches.isEmpty else { throw .badRequest("action \(action) needs a latent cache with its SAE; allowed here: zero, scale") }
                let c = try BrowserRequest.index(q["cache"] ?? "", field: "cache", in: 0..<site.caches.count, missingIs404: false)
                guard let entry = caches.first(where: { $0.cache == c }) else {
                    throw .badRequest("cache \(c) is not a latent cache with a loaded SAE; allowed: \(caches.map { "\($0.cache)" }.joined(separator: ", "))")
                }
                let l = try BrowserRequest.index(q["latent"] ?? "", field: "latent", in: 0..<entry.latents, missingIs404: false)
                at = entry.site
                let value = Float(try request.decimal("value", in: -1_000...1_000, default: 0))
                edit = action == "latent-ablate" ? .ablateLatent(cache: c, latent: l) : .setLatent(cache: c, latent: l, value: value)
            }
            let result: LiveResult
            do {
                result = try self.live.run(prompt: ids, site: at, action: edit, top: Self.top, newTokens: Self.newTokens)
            } catch let error as PageError {
                throw error
            } catch {
                throw .badRequest("the intervention \(label ?? "at \(at)") cannot run: \(error); allowed: \(label == nil ? "a site the intervention can write, e.g. 0:block_output" : "a prompt that leaves room for \(Self.newTokens) new tokens in the model's context")")
            }
            body += results(result, label: label ?? "at \(at)")
        }
        return HTML.document(title: "Live intervention", breadcrumbs: [("index", site.links.index()), ("live", "/live")], body: body)
    }

    func form(_ q: [String: String]) -> String {
        func value(_ name: String, _ fallback: String = "") -> String { HTML.escape(q[name] ?? fallback) }
        let chosen = q["action"] ?? "zero"
        let options = Self.actions.map { "<option value=\"\($0)\"\($0 == chosen ? " selected" : "")>\($0)</option>" }.joined()
        var out = "<p class=\"meta\">model \(HTML.escape(live.model.modelType)) from \(HTML.escape(live.source)); the action writes at the prompt's last position.</p>"
        out += """
        <form method="get" action="/live" id="live"><p><label>prompt <input type="text" name="prompt" id="prompt" maxlength="\(Self.maxPrompt)" value="\(value("prompt"))"></label></p>
        <p><label>site <input type="text" name="site" id="site" value="\(value("site", "0:block_output"))"></label>
        <label>action <select name="action" id="action">\(options)</select></label>
        <label>factor <input type="text" name="factor" size="6" value="\(value("factor", "0"))"></label></p>
        <p><label>cache <input type="text" name="cache" size="4" value="\(value("cache"))"></label>
        <label>latent <input type="text" name="latent" size="6" value="\(value("latent"))"></label>
        <label>value <input type="text" name="value" size="6" value="\(value("value", "0"))"></label>
        </p>\(codeForm(q))<p><button id="run">Run</button></p></form>
        """
        let caches = latentCaches
        out += caches.isEmpty ? "<p class=\"meta\">No latent cache with a readable SAE is served: the latent actions are off.</p>"
            : "<p class=\"meta\">Latent actions (at the cache's own site): " + caches.map { "cache \($0.cache) at \($0.site), \($0.latents) latents" }.joined(separator: "; ") + "</p>"
        return out
    }

    func results(_ r: LiveResult, label: String) -> String {
        func row(_ entry: (id: Int, probability: Float), other: [Float]) -> [String] {
            ["<code>\(HTML.piece(live.piece(entry.id)))</code>", "\(entry.id)", HTML.number(Double(entry.probability), digits: 4),
             HTML.number(Double(other[entry.id]), digits: 4)]
        }
        var out = "<h2>Next token, \(HTML.escape(label))</h2><p class=\"meta\">\(r.promptIds.count) prompt tokens</p>"
        out += "<h3>Before</h3>" + HTML.table([("token", false), ("id", true), ("p before", true), ("p after", true)],
                                               rows: r.before.map { row($0, other: r.probabilitiesAfter) }, id: "before")
        out += "<h3>After</h3>" + HTML.table([("token", false), ("id", true), ("p after", true), ("p before", true)],
                                              rows: r.after.map { row($0, other: r.probabilitiesBefore) }, id: "after")
        out += "<h2>Greedy continuation (\(Self.newTokens) tokens)</h2>"
        out += "<div class=\"ctx\" id=\"generated-before\"><span class=\"meta\">before</span>\(HTML.piece(live.tokenizer.decode(r.generatedBefore, skipSpecialTokens: false)))</div>"
        out += "<div class=\"ctx\" id=\"generated-after\"><span class=\"meta\">after</span>\(HTML.piece(live.tokenizer.decode(r.generatedAfter, skipSpecialTokens: false)))</div>"
        return out
    }

    /// The prompt box of latent `l` of latent cache `cache` (SAE loaded): with `prompt` in the
    /// query, each token shaded by z_l / max(max z_l over the prompt, the cache's maximum).
    func latentBox(cache: Int, latent l: Int, siteText: String, maximum: Float, _ request: BrowserRequest) throws(PageError) -> String {
        guard live.autoencoders[cache] != nil else { return "" }
        var out = """
        <h2>Activation on a prompt</h2><form method="get" action="/cache/\(cache)/latent/\(l)" id="latent-prompt">
        <label>prompt <input type="text" name="prompt" maxlength="\(Self.maxPrompt)" value="\(HTML.escape(request.query["prompt"] ?? ""))"></label><button>Show</button></form>
        """
        guard request.query["prompt"] != nil else { return out }
        let (_, ids) = try prompt(request)
        let at = try parseSite(siteText)
        let values: [Float]
        do { values = try live.latentActivations(prompt: ids, site: at, cache: cache, latent: l) } catch {
            throw .badRequest("latent \(l) cannot be read at \(at): \(error); allowed: a prompt the model reads")
        }
        let top = max(values.max() ?? 0, maximum, .leastNormalMagnitude)
        out += "<div class=\"ctx\" id=\"prompt-activations\">"
        for (id, z) in zip(ids, values) {
            let alpha = HTML.number(Double(min(max(z / top, 0), 1)), digits: 2)
            out += "<span class=\"tok\" style=\"background:rgba(246,160,77,\(alpha))\" title=\"z = \(HTML.number(Double(z), digits: 4))\" data-z=\"\(z)\">\(HTML.piece(live.piece(id)))</span>"
        }
        return out + "</div>"
    }
}
