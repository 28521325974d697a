import FuzzSupport
import Models
import Tensors

// Input: a GGUF file. Every tensor is dequantized, the tokenizer metadata is built into a
// tokenizer (which encodes and decodes a sentence) and the model the metadata describes is built.

/// Tensors above this many elements are not dequantized (keeps one execution short).
let maximumElements = 1 << 20

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    Fuzz.writeSeedsIfAsked { try GGUFSeeds.all() }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let file = try? GGUFFile(bytes: Fuzz.bytes(data, size), name: "fuzz.gguf") else { return 0 }
    for info in file.tensorInfos where info.elementCount <= maximumElements {
        _ = try? file.tensor(info.name).sum()
    }
    if let tokenizer = try? GGUFModelLoader.tokenizer(from: file) {
        let encoding = tokenizer.encode("Hello wörld, 12 <s> ▁x\n\t🙂")
        _ = tokenizer.decode(encoding.ids, skipSpecialTokens: false)
        _ = tokenizer.decode(Array(0..<min(tokenizer.vocabularySize, 64)), skipSpecialTokens: true)
    }
    _ = try? GGUFModelLoader.model(from: file)
    return 0
}
