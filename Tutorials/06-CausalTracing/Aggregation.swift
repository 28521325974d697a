import CausalAbstraction
import Foundation

/// The token classes of Meng et al. (2022, fig. 1e–g) over which traces of prompts of different
/// lengths are averaged.
enum TokenClass: String, CaseIterable {
    case firstSubject = "first subject token"
    case middleSubject = "middle subject tokens"
    case lastSubject = "last subject token"
    case firstSubsequent = "first subsequent token"
    case furtherTokens = "further tokens"
    case lastToken = "last token"

    /// The positions of this class in a prompt of `length` tokens whose subject is `subject`
    /// (a one-token subject counts as its last token; the prompt's last token is never a
    /// subsequent one).
    func positions(subject: Range<Int>, length: Int) -> [Int] {
        let last = length - 1
        switch self {
        case .firstSubject: return subject.count > 1 ? [subject.lowerBound] : []
        case .middleSubject: return subject.count > 2 ? Array((subject.lowerBound + 1)..<(subject.upperBound - 1)) : []
        case .lastSubject: return [subject.upperBound - 1]
        case .firstSubsequent: return subject.upperBound < last ? [subject.upperBound] : []
        case .furtherTokens: return subject.upperBound + 1 < last ? Array((subject.upperBound + 1)..<last) : []
        case .lastToken: return subject.upperBound - 1 == last ? [] : [last]
        }
    }
}

/// Effects (layers × classes) averaged over positions of a class, then over the prompts that
/// have the class.
struct ClassAverage {
    private var sums: [[Double]], counts: [Int]
    let layers: Int

    init(layers: Int) {
        self.layers = layers
        sums = [[Double]](repeating: [Double](repeating: 0, count: TokenClass.allCases.count), count: layers)
        counts = [Int](repeating: 0, count: TokenClass.allCases.count)
    }

    mutating func add(_ effects: [[Double]], subject: Range<Int>, length: Int) {
        for (c, tokenClass) in TokenClass.allCases.enumerated() {
            let positions = tokenClass.positions(subject: subject, length: length)
            guard !positions.isEmpty else { continue }
            counts[c] += 1
            for l in 0..<layers { sums[l][c] += positions.map { effects[l][$0] }.reduce(0, +) / Double(positions.count) }
        }
    }

    /// The mean effect (layers × classes); 0 for a class no prompt had.
    var mean: [[Double]] { sums.map { row in row.indices.map { counts[$0] > 0 ? row[$0] / Double(counts[$0]) : 0 } } }

    /// The mean effect of `tokenClass` per layer.
    func column(_ tokenClass: TokenClass) -> [Double] {
        let c = TokenClass.allCases.firstIndex(of: tokenClass)!
        return mean.map { $0[c] }
    }
}

extension Array where Element == Double {
    /// The index of the largest element.
    var argmax: Int { indices.max { self[$0] < self[$1] } ?? 0 }
    /// The mean of a range of elements.
    func mean(_ range: Range<Int>) -> Double { range.isEmpty ? 0 : self[range].reduce(0, +) / Double(range.count) }
}
