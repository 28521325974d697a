import Foundation

/// Text after normalization, each code point remembering the input code points it came from,
/// so token offsets can point into the original text.
struct NormalizedText {
    var scalars: [Unicode.Scalar] = []
    /// For each normalized code point, the input code points it stands for (empty for inserted ones).
    var origins: [Range<Int>] = []

    /// `input[range]` unchanged.
    init(_ input: [Unicode.Scalar], range: Range<Int>) {
        scalars = Array(input[range])
        origins = range.map { $0..<($0 + 1) }
    }

    /// `input[range]` in Unicode Normalization Form C, composed one grapheme cluster at a time
    /// (canonical composition never crosses a cluster). Output code point k of a cluster maps
    /// back to the cluster's k-th input code point (the last one for any extra), which is how
    /// Hugging Face aligns NFC: "e" + U+0301 → "é" points at the "e".
    init(nfc input: [Unicode.Scalar], range: Range<Int>) {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: input[range])
        var position = range.lowerBound
        for cluster in String(view) {
            let width = cluster.unicodeScalars.count
            for (k, s) in String(cluster).precomposedStringWithCanonicalMapping.unicodeScalars.enumerated() {
                let j = position + Swift.min(k, width - 1)
                scalars.append(s)
                origins.append(j..<(j + 1))
            }
            position += width
        }
    }

    /// An empty text.
    init() {}

    /// The input span of normalized code points `span` (empty origins are skipped; a span of only
    /// inserted code points gets an empty range at its position).
    func origin(of span: Range<Int>) -> Range<Int> {
        let real = span.map { origins[$0] }.filter { !$0.isEmpty }
        guard let first = real.first, let last = real.last else {
            let at = span.lowerBound < origins.count ? origins[span.lowerBound].lowerBound : (origins.last?.upperBound ?? 0)
            return at..<at
        }
        return first.lowerBound..<Swift.max(first.upperBound, last.upperBound)
    }
}
