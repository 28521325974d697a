import Tensors

/// Reading codebook-features' JSON spellings (`hook_kwargs`, `patch_in_codes` arguments) into
/// the typed configuration. Unknown keys and wrongly typed values throw naming the field.
extension CodebookCallOptions {
    /// The keys `init(hookKwargs:)` reads.
    public static let hookKwargsKeys = ["disable_topk", "disable_codes", "disable_for_tkns", "keep_k_codes", "disable_sim_idx", "cosine"]

    /// Options from a `hook_kwargs` object (missing keys keep their defaults).
    public init(hookKwargs object: JSONObject) throws {
        self.init()
        for (key, value) in object {
            func bad(_ allowed: String) -> CodebookError {
                .invalidHyperparameter(field: "hook_kwargs.\(key)", value: value.serialized(), allowed: allowed)
            }
            func ints() throws -> [Int] {
                guard let list = value.arrayValue?.compactMap(\.intValue), list.count == value.arrayValue?.count else { throw bad("a list of integers") }
                return list
            }
            switch key {
            case "disable_topk":
                guard let n = value.intValue, n >= 0 else { throw bad("an integer ≥ 0") }
                disableTopK = n
            case "disable_codes": disabledCodes = try ints()
            case "disable_for_tkns":
                if value.stringValue == "all" { tokens = .all } else { tokens = .positions(try ints()) }
            case "keep_k_codes":
                guard let b = value.boolValue else { throw bad("true or false") }
                keepK = b
            case "disable_sim_idx": disabledSlots = try ints()
            case "cosine":
                guard let b = value.boolValue else { throw bad("true or false") }
                cosine = b
            default:
                throw CodebookError.invalidHyperparameter(field: "hook_kwargs", value: "'\(key)'",
                                                          allowed: CodebookCallOptions.hookKwargsKeys.joined(separator: ", "))
            }
        }
    }
}

extension CodePatch {
    /// A patch from `patch_in_codes` arguments: `pos` (null, an integer or a list), `code`,
    /// `code_pos` (null or an integer; "append" is not supported — it cannot work in the
    /// reference either).
    public init(json object: JSONObject) throws {
        guard let code = object["code"]?.intValue else {
            throw CodebookError.invalidHyperparameter(field: "code", value: object["code"]?.serialized() ?? "missing", allowed: "an integer")
        }
        var positions: [Int]?
        if let pos = object["pos"], !pos.isNull {
            if let p = pos.intValue { positions = [p] } else if let list = pos.arrayValue?.compactMap(\.intValue), list.count == pos.arrayValue?.count {
                positions = list
            } else {
                throw CodebookError.invalidHyperparameter(field: "pos", value: pos.serialized(), allowed: "null, an integer or a list of integers")
            }
        }
        var slot: Int?
        if let s = object["code_pos"], !s.isNull {
            guard let i = s.intValue else {
                throw CodebookError.invalidHyperparameter(field: "code_pos", value: s.serialized(), allowed: "null or an integer slot")
            }
            slot = i
        }
        self.init(positions: positions, slot: slot, code: code)
    }
}
