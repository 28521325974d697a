import Testing
import Features
import Models
import Tensors

func tinyGPT2() -> DecoderModel {
    let model = try! GPT2Family.model(GPT2Family.config(vocabularySize: 40, positions: 24, width: 16, layers: 2, heads: 2))
    model.initializeRandomly(seed: 1, std: 0.2)
    return model
}

/// One test per bad input: the typed error and its message.
@Suite struct CodebookErrorTests {
    @Test func codebookAtASiteOfTheWrongWidth() throws {
        let model = tinyGPT2()
        let codebook = try CodebookLayer(name: "mid", width: 16, codeCount: 8)
        let site = Site(layer: 0, component: .mlpActivation)
        #expect(throws: CodebookError.widthMismatch(codebook: "mid", site: "L0.mlp_activation", expected: 16, actual: 64)) {
            try model.insertCodebook(codebook, at: site, name: "codebook")
        }
        let message = CodebookError.widthMismatch(codebook: "mid", site: "L0.mlp_activation", expected: 16, actual: 64).description
        #expect(message == "codebook 'mid': the activation at L0.mlp_activation has width 64 but the codebook's codes have width 16")
        // Called directly on an input of another width.
        #expect(throws: CodebookError.self) { try codebook.snap(Tensor.zeros([1, 2, 5])) }
    }

    @Test func groupCountThatDoesNotDivideTheWidth() throws {
        #expect(throws: CodebookError.groupsDoNotDivide(codebook: "g", groups: 5, width: 16)) {
            try GroupCodebookLayer(name: "g", width: 16, groups: 5, codeCount: 4)
        }
        #expect(CodebookError.groupsDoNotDivide(codebook: "g", groups: 5, width: 16).description
            == "codebook 'g': 5 groups do not divide the width 16; allowed: a group count that divides 16")
        // Through a codebook model spec as well.
        #expect(throws: CodebookError.groupsDoNotDivide(codebook: "L0.attn_preproj", groups: 3, width: 16)) {
            try CodebookModel(model: tinyGPT2(), specs: [CodebookSpec(placement: .attentionPreprojection, codeCount: 4, groups: 3)])
        }
    }

    @Test func codeIndexOutOfRange() throws {
        let codebook = try CodebookLayer(name: "c", width: 4, codeCount: 6, k: 2)
        let x = Tensor.randomNormal([1, 3, 4], seed: 1)
        #expect(throws: CodebookError.codeOutOfRange(codebook: "c", code: 6, codes: 6)) {
            try codebook.snap(x, patches: [CodePatch(code: 6)])
        }
        #expect(CodebookError.codeOutOfRange(codebook: "c", code: 6, codes: 6).description
            == "codebook 'c': code 6 is out of range; allowed: 0..<6, or -1 to block the slot")
        #expect(throws: CodebookError.codeOutOfRange(codebook: "c", code: -2, codes: 6)) {
            try codebook.snap(x, patches: [CodePatch(code: -2)])
        }
    }

    @Test func disabledCodeThatDoesNotExist() throws {
        let codebook = try CodebookLayer(name: "c", width: 4, codeCount: 6)
        let x = Tensor.randomNormal([1, 3, 4], seed: 1)
        #expect(throws: CodebookError.disabledCodeOutOfRange(codebook: "c", code: 9, codes: 6)) {
            try codebook.snap(x, options: CodebookCallOptions(disabledCodes: [1, 9]))
        }
        #expect(CodebookError.disabledCodeOutOfRange(codebook: "c", code: 9, codes: 6).description
            == "codebook 'c': disabledCodes names code 9, which does not exist; allowed: 0..<6")
    }

    @Test func otherOptionsOutOfRange() throws {
        let codebook = try CodebookLayer(name: "c", width: 4, codeCount: 6, k: 2)
        let x = Tensor.randomNormal([1, 3, 4], seed: 1)
        #expect(throws: CodebookError.invalidOption(codebook: "c", field: "tokens", value: "3", allowed: "positions in -3..<3")) {
            try codebook.snap(x, options: CodebookCallOptions(tokens: .positions([3])))
        }
        #expect(throws: CodebookError.self) { try codebook.snap(x, options: CodebookCallOptions(disableTopK: 5)) }
        #expect(throws: CodebookError.self) { try codebook.snap(x, patches: [CodePatch(slot: 2, code: 1)]) }
        #expect(throws: CodebookError.self) { try CodebookObjective(parsing: "vqvae-x") }
        #expect(throws: CodebookError.self) { try CodebookPlacement(parsing: "mlp_out") }
        #expect(throws: CodebookError.self) { try CodebookCallOptions(hookKwargs: JSONObject([("disable_code", .array([]))])) }
    }
}
