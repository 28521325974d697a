import FuzzSupport
import Intervene
import Tensors

// Input: a torch.save checkpoint (a zip archive with data.pkl and data/<storage> entries) read by
// the restricted pickle machine. Every tensor is summed; the state is then translated as a pyvene
// intervention's saved state would be.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let checkpoint = try? TorchCheckpoint(bytes: Fuzz.bytes(data, size), name: "fuzz.pt") else { return 0 }
    let tensors = checkpoint.tensors
    for (_, tensor) in tensors { _ = tensor.sum() }
    _ = try? PyveneState.translate(tensors, file: "fuzz.pt", key: "layer_0_comp_block_output_unit_pos_nunit_1#0")
    return 0
}
