import Intervene
import Models
import Tensors

extension GoldenComparator {
    /// Compares the logit-shaped expectations a case may store: full `logits` (B, S, V),
    /// `last_position_logits` (B, V) and `top5_ids` (B, 5), the descending order of the last
    /// position's logits (exact). Returns false for any other key.
    mutating func checkLogits(_ key: String, _ logits: Tensor, expected entry: JSONValue, in data: GoldenFolder) throws -> Bool {
        switch key {
        case "logits", "logits_intended":
            try check(key, logits, expected: entry, in: data)
        case "last_position_logits":
            try check(key, logits.rank == 3 ? logits.atPosition(-1) : logits, expected: entry, in: data)
        case "top5_ids":
            let last = logits.rank == 3 ? logits.atPosition(-1) : logits
            let rows = last.shape[0], width = last.shape[1], values = last.scalars
            let ids = (0..<rows).flatMap { r in
                values[(r * width)..<((r + 1) * width)].withUnsafeBufferPointer { Tensor.largestIndices($0, k: 5) }
            }
            let expected = try data.integers(entry["tensor"]?.stringValue ?? "")
            check(key, ids, expected.values, shape: [rows, 5], expectedShape: expected.shape)
        default:
            return false
        }
        return true
    }
}
