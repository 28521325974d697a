import Foundation
import Intervene
import Tensors

/// Checks the integer fields of an experiment file before it is decoded, so that `"epochs": 1.5`
/// or `"seed": -1` is reported at its field with its value (JSON decoding alone reports only
/// that the file does not fit).
enum ExperimentFieldCheck {
    /// Integer fields by path ("[]" stands for every element of a list) and their least value.
    static let integers: [(path: [String], minimum: Int)] = [
        (["seed"], 0), (["training", "epochs"], 1), (["training", "batch_size"], 1),
        (["training", "gradient_accumulation_steps"], 1), (["training", "early_stopping_patience"], 1),
        (["representations", "[]", "layer"], Int.min), (["representations", "[]", "max_number_of_units"], 1),
        (["representations", "[]", "low_rank_dimension"], 1), (["subspaces", "[]"], 0),
        (["sweep", "layers", "[]"], Int.min), (["sweep", "positions", "[]"], Int.min), (["sweep", "low_rank_dimensions", "[]"], 1),
    ]

    /// Throws `ExperimentError.invalid` naming the first integer field that is not one.
    static func check(_ data: Data, file: String) throws {
        guard let root = try? data.withUnsafeBytes({ try JSONValue.parse($0) }) else { return }  // the decoder reports syntax
        for (path, minimum) in integers {
            try visit(root, path[...], prefix: "") { value, field in
                guard !value.isNull else { return }
                guard let v = value.intValue, v >= minimum else {
                    throw ExperimentError.invalid(file: file, field: field, value: value.serialized(),
                                                  expected: minimum == Int.min ? "an integer" : "an integer ≥ \(minimum)")
                }
            }
        }
    }

    static func visit(_ value: JSONValue, _ path: ArraySlice<String>, prefix: String,
                      _ body: (JSONValue, String) throws -> Void) throws {
        guard let head = path.first else { return try body(value, prefix) }
        if head == "[]" {
            for (i, item) in (value.arrayValue ?? []).enumerated() { try visit(item, path.dropFirst(), prefix: prefix + "[\(i)]", body) }
        } else if let child = value[head] {
            try visit(child, path.dropFirst(), prefix: prefix.isEmpty ? head : prefix + "." + head, body)
        }
    }
}
