import Foundation
import Tensors

/// Weights of a model on disk: a single `model.safetensors`, or shards listed by
/// `model.safetensors.index.json` (Hugging Face's `weight_map`), or any one safetensors file.
///
/// Float32 tensors are read in place from the memory-mapped files (see
/// `SafeTensorsFile.tensor(_:copying:)`): a model loaded from them holds the file's pages, which
/// the kernel can share and drop, rather than a private copy; the mapping lives as long as any
/// weight does. `copyingWeights` gives every tensor a private copy instead.
public final class Checkpoint {
    /// Files by tensor name.
    private let fileForName: [String: SafeTensorsFile]
    /// Where the weights came from.
    public let location: String
    /// True when `tensor(_:)` copies Float32 data instead of reading it in place.
    public let copiesWeights: Bool

    /// Opens the weights in `folder` (or the safetensors file at that path); with
    /// `copyingWeights`, tensors are private copies rather than views of the mapped files.
    public init(path: String, copyingWeights: Bool = false) throws {
        copiesWeights = copyingWeights
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ModelError.missingWeights(folder: path, reason: "no such file or folder")
        }
        location = path
        if !isDirectory.boolValue {
            let file = try SafeTensorsFile(path: path)
            fileForName = Dictionary(uniqueKeysWithValues: file.names.map { ($0, file) })
            return
        }
        let single = path + "/model.safetensors"
        let index = path + "/model.safetensors.index.json"
        if FileManager.default.fileExists(atPath: single) {
            let file = try SafeTensorsFile(path: single)
            fileForName = Dictionary(uniqueKeysWithValues: file.names.map { ($0, file) })
        } else if FileManager.default.fileExists(atPath: index) {
            let json: JSONValue
            do { json = try JSONValue.parse(contentsOf: index) } catch {
                throw ModelError.missingWeights(folder: path, reason: "model.safetensors.index.json is not valid JSON (\(error))")
            }
            guard let map = json["weight_map"]?.objectValue else {
                throw ModelError.missingWeights(folder: path, reason: "model.safetensors.index.json has no object 'weight_map'")
            }
            var files: [String: SafeTensorsFile] = [:]
            var byName: [String: SafeTensorsFile] = [:]
            for (name, value) in map {
                guard let shard = value.stringValue, !shard.contains("/") else {
                    throw ModelError.missingWeights(folder: path, reason: "weight_map entry '\(name)' is not a shard file name")
                }
                if files[shard] == nil { files[shard] = try SafeTensorsFile(path: path + "/" + shard) }
                guard files[shard]!.contains(name) else {
                    throw ModelError.missingWeights(folder: path, reason: "weight_map says '\(name)' is in \(shard), which does not hold it")
                }
                byName[name] = files[shard]!
            }
            fileForName = byName
        } else if FileManager.default.fileExists(atPath: path + "/pytorch_model.bin") {
            throw ModelError.missingWeights(folder: path, reason: "only pytorch_model.bin found; convert it to safetensors (pickle files can run code and are not read)")
        } else {
            throw ModelError.missingWeights(folder: path, reason: "neither model.safetensors nor model.safetensors.index.json found")
        }
    }

    /// Tensor names, sorted.
    public var names: [String] { fileForName.keys.sorted() }

    /// True when the checkpoint holds `name`.
    public func contains(_ name: String) -> Bool { fileForName[name] != nil }

    /// The shape of `name` from the header, without reading its data.
    public func shape(_ name: String) -> [Int]? { fileForName[name]?.entries[name]?.shape }

    /// The tensor `name` as Float32 (in place or copied, as `copiesWeights` says).
    public func tensor(_ name: String) throws -> Tensor {
        guard let file = fileForName[name] else { throw SafeTensorsError.missingTensor(name: name, path: location) }
        return try file.tensor(name, copying: copiesWeights)
    }
}
