import Features
import Foundation
import Models
import Tensors

extension LiveAction {
    /// The code edit of a code action, the codebook it is for and the generation calls it acts
    /// on (`CodebookModel.generate`); nil for the other actions.
    ///
    /// - `forceCode` at the last position: `CodePatch(positions: [−1], slot:, code:)` on the
    ///   prompt's pass (the key/value cache carries it on); everywhere: every position of the
    ///   prompt's pass and every generated token's pass.
    /// - `disableCode`: `CodebookCallOptions(disabledCodes: [code], tokens:, keepK: refill)` —
    ///   with `refill` the next-best code takes the slot, without it the slot is zeroed.
    var codeEdit: (codebook: String, edit: CodeEdit, timing: CodeEditTiming)? {
        switch self {
        case .forceCode(let name, let code, let slot, let everywhere):
            return (name, CodeEdit(patches: [CodePatch(positions: everywhere ? nil : [-1], slot: slot, code: code)]),
                    everywhere ? .promptAndGeneratedTokens : .prompt)
        case .disableCode(let name, let code, let refill, let everywhere):
            let options = CodebookCallOptions(disabledCodes: [code], tokens: everywhere ? .all : .positions([-1]), keepK: refill)
            return (name, CodeEdit(options: options), everywhere ? .promptAndGeneratedTokens : .prompt)
        default:
            return nil
        }
    }
}

extension LiveModel {
    /// A code action on the codebook model: the plain run (the codebooks with their own
    /// settings) and the edited run (`LiveAction.codeEdit`) of `CodebookModel.generate`, each
    /// giving p = softmax(logits at the last prompt position) (top `top`) and a greedy
    /// continuation of `newTokens` tokens.
    func runCodes(prompt: [Int], action: LiveAction, top: Int, newTokens: Int) throws -> LiveResult {
        guard let codebooks, let codeEdit = action.codeEdit else {
            throw PageError.badRequest("the served model has no codebooks; allowed: `intervene serve CACHE --model M` with the codebook bundle the cache was made with")
        }
        let (name, edit, timing) = codeEdit
        return try serialized {
            let tokens = IndexTensor(shape: [1, prompt.count], values: prompt)
            let config = GenerationConfig(maxNewTokens: newTokens)
            let plain = try codebooks.generate(prompt: tokens, edits: [:], config: config)
            let edited = try codebooks.generate(prompt: tokens, edits: [name: edit], timing: timing, config: config)
            func probabilities(_ logits: Tensor) -> [Float] { logits.reshaped([logits.count]).softmax().scalars }
            let before = probabilities(plain.firstStepLogits), after = probabilities(edited.firstStepLogits)
            return LiveResult(promptIds: prompt, before: Self.best(before, top), after: Self.best(after, top),
                              probabilitiesBefore: before, probabilitiesAfter: after,
                              generatedBefore: Array(plain.sequences[0].dropFirst(prompt.count)),
                              generatedAfter: Array(edited.sequences[0].dropFirst(prompt.count)))
        }
    }

    /// The `top` largest entries of p as (id, probability), largest first (ties: lower id first).
    static func best(_ p: [Float], _ top: Int) -> [(id: Int, probability: Float)] {
        p.indices.sorted { (p[$0], -$0) > (p[$1], -$1) }.prefix(top).map { (id: $0, probability: p[$0]) }
    }

    /// The codebooks a code action may name, as (name, codes, k), in the model's order.
    var codebookChoices: [(name: String, codes: Int, k: Int)] {
        codebooks?.codebooks.map { (name: $0.name, codes: $0.layer.codeCount, k: $0.layer.k) } ?? []
    }
}

extension LivePages {
    /// The code actions' parameter names.
    static let codeParameters = ["codebook", "code", "slot", "position", "fill"]

    /// `code-force` / `code-disable` from the query: `codebook` (a codebook of the served
    /// model), `code` (0 ..< C), `slot` ("all" or 0 ..< k, forcing only), `position` ("last"
    /// or "all") and `fill` ("next-best" or "zero", disabling only).
    func codeAction(_ action: String, _ request: BrowserRequest) throws(PageError) -> (LiveAction, String) {
        let choices = live.codebookChoices
        guard !choices.isEmpty else {
            throw .badRequest("action \(action) needs a codebook model; allowed here: \(Self.actions.filter { !$0.hasPrefix("code-") }.joined(separator: ", ")) (serve a codebook cache with --model and its bundle for the code actions)")
        }
        let name = request.query["codebook"] ?? ""
        guard let book = choices.first(where: { $0.name == name }) else {
            let names = choices.map(\.name)
            throw .badRequest("codebook is '\(name.prefix(80))'; allowed: \(names.prefix(40).joined(separator: ", "))\(names.count > 40 ? ", …" : "")")
        }
        let code = try BrowserRequest.index(request.query["code"] ?? "", field: "code", in: 0..<book.codes, missingIs404: false)
        let everywhere = try request.choice("position", among: ["last", "all"], default: "last") == "all"
        let place = everywhere ? "every position" : "the last position"
        if action == "code-force" {
            let slotText = request.query["slot"] ?? "all"
            var slot: Int?
            if slotText != "all" { slot = try BrowserRequest.index(slotText, field: "slot", in: 0..<book.k, missingIs404: false) }
            return (.forceCode(codebook: name, code: code, slot: slot, everywhere: everywhere),
                    "code \(code) of \(name) forced into \(slot.map { "slot \($0)" } ?? "every slot") at \(place)")
        }
        let refill = try request.choice("fill", among: ["next-best", "zero"], default: "next-best") == "next-best"
        return (.disableCode(codebook: name, code: code, refill: refill, everywhere: everywhere),
                "code \(code) of \(name) disabled at \(place) (\(refill ? "the next-best code takes its slot" : "its slot zeroed"))")
    }

    /// The code actions' fields of the /live form (empty without a codebook model).
    func codeForm(_ q: [String: String]) -> String {
        let choices = live.codebookChoices
        guard !choices.isEmpty else { return "" }
        func value(_ name: String, _ fallback: String = "") -> String { HTML.escape(q[name] ?? fallback) }
        func select(_ name: String, _ options: [String], _ fallback: String) -> String {
            let chosen = q[name] ?? fallback
            return "<select name=\"\(name)\" id=\"\(name)\">" + options.map { "<option value=\"\(HTML.escape($0))\"\($0 == chosen ? " selected" : "")>\(HTML.escape($0))</option>" }.joined() + "</select>"
        }
        return """
        <fieldset><legend>Code actions (code-force, code-disable)</legend>
        <label>codebook \(select("codebook", choices.map(\.name), choices[0].name))</label>
        <label>code <input type="text" name="code" size="6" value="\(value("code"))"></label>
        <label>slot <input type="text" name="slot" size="4" value="\(value("slot", "all"))"></label>
        <label>position \(select("position", ["last", "all"], "last"))</label>
        <label>fill (disable) \(select("fill", ["next-best", "zero"], "next-best"))</label></fieldset>
        <p class="meta">Codebooks of the model: \(choices.count); forcing writes the code into the chosen slot (all: every one of the k slots); disabling lets the next-best code take the slot or zeroes it; position all acts on every prompt position and on every generated token.</p>
        """
    }
}
