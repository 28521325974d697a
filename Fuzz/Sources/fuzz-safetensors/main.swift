import FuzzSupport
import Tensors

// Input: a safetensors file. Every tensor the header admits is then read as floats and as integers.

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    Fuzz.writeSeedsIfAsked {
        let float = Tensor(shape: [2, 3], values: [1, -2, 3.5, 0, 1e-3, 7])
        return [
            "floats.safetensors": SafeTensorsWriter.encode(["a": .float(float), "b.weight": .float(Tensor(shape: [3], values: [1, 2, 3]))],
                                                           metadata: ["format": "pt"]),
            "half.safetensors": SafeTensorsWriter.encode(["h": .float16(float)]),
            "ints.safetensors": SafeTensorsWriter.encode(["i": .int64(IndexTensor(shape: [2, 2], values: [0, -1, 5, 1 << 40])),
                                                          "scalar": .float(Tensor(shape: [], values: [4]))]),
            "empty.safetensors": SafeTensorsWriter.encode([:]),
        ]
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let file = try? SafeTensorsFile(bytes: Fuzz.bytes(data, size), name: "fuzz.safetensors") else { return 0 }
    for name in file.names {
        _ = try? file.tensor(name).sum()
        _ = try? file.integers(name)
    }
    return 0
}
