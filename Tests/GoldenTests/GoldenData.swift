import Foundation
import Models
import Tensors

/// One golden folder: its manifest, its golden tensors and (for model folders) the model.
final class GoldenFolder {
    let folder: String
    let manifest: JSONValue
    let tensors: SafeTensorsFile?
    /// How a GGUF model is loaded: the suite runs a GGUF manifest once dequantized (the
    /// reference path) and once with its matrices kept quantized, with the same tolerances —
    /// the quantized kernels multiply bit-identical weights and differ only in float32
    /// summation order, the rounding those tolerances already budget for (README-more.md §4).
    var quantizedWeights: QuantizedWeights = .dequantize

    init(manifestPath: String) throws {
        folder = (manifestPath as NSString).deletingLastPathComponent
        manifest = try JSONValue.parse(contentsOf: manifestPath)
        if let file = manifest["golden_file"]?.stringValue {
            tensors = try SafeTensorsFile(path: folder + "/" + file)
        } else {
            tensors = nil
        }
    }

    var format: String { manifest["format"]?.stringValue ?? "?" }
    var name: String {
        let base = manifest["name"]?.stringValue ?? (folder as NSString).lastPathComponent
        return isGGUF && quantizedWeights == .keep ? base + " [quantized]" : base
    }
    /// True when the manifest's model is a GGUF file.
    var isGGUF: Bool { manifest["model"]?["format"]?.stringValue == "gguf" }
    var cases: [JSONValue] { manifest["cases"]?.arrayValue ?? [] }

    func tensor(_ name: String) throws -> Tensor {
        guard let tensors else { throw GoldenFailure("no golden file in \(folder)") }
        return try tensors.tensor(name)
    }

    func integers(_ name: String) throws -> IndexTensor {
        guard let tensors else { throw GoldenFailure("no golden file in \(folder)") }
        return try tensors.integers(name)
    }

    func dtype(_ name: String) -> String? {
        manifest["tensor_index"]?[name]?["dtype"]?.stringValue
    }
}

/// A golden comparison that did not hold, or a case that could not run.
struct GoldenFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A case the suite knowingly does not run, with the reason.
struct GoldenSkip: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Compares tensors under the golden tolerance rule |a − e| ≤ atol + rtol·|e|.
struct GoldenComparator {
    var maxAbsError: Float = 0
    var failures: [String] = []
    /// How many comparisons ran: a case that compared nothing has not passed.
    var comparisons = 0

    /// Compares `actual` with the expected entry `{tensor, atol, rtol}`.
    mutating func check(_ label: String, _ actual: Tensor, expected entry: JSONValue, in data: GoldenFolder) throws {
        guard let name = entry["tensor"]?.stringValue else {
            failures.append("\(label): the expected entry names no tensor")
            return
        }
        let atol = Float(entry["atol"]?.doubleValue ?? 1e-5), rtol = Float(entry["rtol"]?.doubleValue ?? 1e-4)
        if data.dtype(name) == "int64" {
            let expected = try data.integers(name)
            check(label, actual.scalars.map { Int($0) }, expected.values, shape: actual.shape, expectedShape: expected.shape)
            return
        }
        let expected = try data.tensor(name)
        check(label, actual, expected, atol: atol, rtol: rtol)
    }

    mutating func check(_ label: String, _ actual: Tensor, _ expected: Tensor, atol: Float, rtol: Float) {
        comparisons += 1
        guard actual.count == expected.count, actual.shape.filter({ $0 != 1 }) == expected.shape.filter({ $0 != 1 }) else {
            failures.append("\(label): shape \(actual.shape), expected \(expected.shape)")
            return
        }
        let a = actual.scalars, e = expected.scalars
        var worst = (excess: Float(-1), index: 0)
        for i in 0..<a.count {
            let err = Swift.abs(a[i] - e[i])
            if err.isNaN || a[i].isNaN != e[i].isNaN { worst = (.infinity, i); break }
            maxAbsError = Swift.max(maxAbsError, err)
            let excess = err - (atol + rtol * Swift.abs(e[i]))
            if excess > worst.excess { worst = (excess, i) }
        }
        if worst.excess > 0 {
            failures.append("\(label): element \(worst.index) is \(a[worst.index]), expected \(e[worst.index]) (atol \(atol), rtol \(rtol))")
        }
    }

    mutating func check(_ label: String, _ actual: [Int], _ expected: [Int], shape: [Int]? = nil, expectedShape: [Int]? = nil) {
        comparisons += 1
        if actual != expected {
            let i = zip(actual, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? Swift.min(actual.count, expected.count)
            failures.append("\(label): \(actual.count) values vs \(expected.count) expected; first difference at \(i)")
        }
    }

    /// Compares text (and lists of text) exactly.
    mutating func check<T: Equatable>(_ label: String, text actual: T, _ expected: T?) {
        comparisons += 1
        if actual != expected { failures.append("\(label) gave \(actual), expected \(expected.map { "\($0)" } ?? "nothing")") }
    }

    /// Throws when any check failed.
    func verdict() throws {
        if !failures.isEmpty { throw GoldenFailure(failures.joined(separator: "; ")) }
        if comparisons == 0 { throw GoldenFailure("the case compared nothing (no expected value this suite reads)") }
    }
}
