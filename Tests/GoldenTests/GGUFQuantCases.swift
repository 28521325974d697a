import Foundation
import Tensors

/// Cases of the gguf-quants/v1 format: the raw bytes of consecutive ggml blocks (`<TYPE>.raw`,
/// U8) must dequantize to gguf-py's float32 values (`<TYPE>.f32`) within atol + rtol·|expected|.
/// The manifest's type id and block sizes must also agree with `GGMLType`.
struct GGUFQuantCases {
    let data: GoldenFolder

    init(_ data: GoldenFolder) { self.data = data }

    func runAll() -> [GoldenResult] {
        let file = data.manifest["golden_file"]?.stringValue ?? "quants.safetensors"
        let tensors = Result { try SafeTensorsFile(path: data.folder + "/" + file) }
        return data.cases.map { c in
            GoldenRunner.result(c) {
                guard c["kind"]?.stringValue == "dequantize" else {
                    throw GoldenSkip("case kind '\(c["kind"]?.stringValue ?? "?")' is not known")
                }
                return try run(c, tensors: tensors.get())
            }
        }
    }

    func run(_ c: JSONValue, tensors: SafeTensorsFile) throws -> Float? {
        let typeName = c["type"]?.stringValue ?? "?"
        guard let type = GGMLType(name: typeName) else { throw GoldenFailure("type '\(typeName)' is not a GGMLType") }
        var comparator = GoldenComparator()
        comparator.check("ggml type id", [Int(type.rawValue)], [c["ggml_type_id"]?.intValue ?? -1])
        comparator.check("block elements and bytes", [type.blockElements, type.blockBytes],
                         [c["block_elements"]?.intValue ?? -1, c["block_bytes"]?.intValue ?? -1])
        guard let rawName = c["raw"]?.stringValue, let expectedName = c["expected"]?.stringValue else {
            throw GoldenFailure("the case names no raw or expected tensor")
        }
        let raw = try tensors.integers(rawName).values.map { UInt8(truncatingIfNeeded: $0) }
        let expected = try tensors.tensor(expectedName)
        let elements = c["elements"]?.intValue ?? expected.count
        let actual = try type.dequantize(raw, shape: [elements])
        let atol = Float(c["atol"]?.doubleValue ?? 1e-7), rtol = Float(c["rtol"]?.doubleValue ?? 1e-6)
        comparator.check(typeName, actual, expected, atol: atol, rtol: rtol)
        try comparator.verdict()
        return comparator.maxAbsError
    }
}
