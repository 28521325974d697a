/// Unicode classes the pre-tokenizer patterns use: \p{L}, \p{N} and \s (the White_Space property,
/// as Oniguruma and llama.cpp define it).
enum ScalarClass {
    /// \p{L}: any letter category.
    static func isLetter(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    /// \p{N}: decimal digits, letter numbers (Ⅻ) and other numbers (², ½, ①).
    static func isNumber(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    /// \s: the White_Space property.
    static func isSpace(_ s: Unicode.Scalar) -> Bool { s.properties.isWhitespace }
}

/// GPT-2's pre-tokenizer pattern, scanned by hand (it is the hot path and needs no regex engine):
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
/// The lookahead sees only the scanned range, as when the regex runs on that piece alone.
enum GPT2Pattern {
    /// The pattern's matches in `scalars[range]`, as absolute index ranges that tile `range`.
    static func split(_ scalars: [Unicode.Scalar], in range: Range<Int>) -> [Range<Int>] {
        var pieces: [Range<Int>] = []
        let end = range.upperBound
        func run(from start: Int, while test: (Unicode.Scalar) -> Bool) -> Int {
            var j = start
            while j < end && test(scalars[j]) { j += 1 }
            return j
        }
        var i = range.lowerBound
        while i < end {
            if let length = contraction(scalars, at: i, end: end) {
                pieces.append(i..<(i + length))
                i += length
                continue
            }
            // An optional space, then a run of letters, of numbers, or of other symbols.
            let body = scalars[i] == " " ? i + 1 : i
            if body < end, let test = runClass(of: scalars[body]) {
                let stop = run(from: body, while: test)
                pieces.append(i..<stop)
                i = stop
                continue
            }
            // Whitespace not followed by a non-space (the last space goes with the next word),
            // else the whole run.
            let stop = run(from: i, while: ScalarClass.isSpace)
            if stop < end && stop - i > 1 {
                pieces.append(i..<(stop - 1))
                i = stop - 1
            } else {
                let next = Swift.max(stop, i + 1)
                pieces.append(i..<next)
                i = next
            }
        }
        return pieces
    }

    /// Length of 's 't 're 've 'm 'll 'd (case-sensitive) at `i`, if one starts there.
    static func contraction(_ scalars: [Unicode.Scalar], at i: Int, end: Int) -> Int? {
        guard scalars[i] == "'", i + 1 < end else { return nil }
        let next = scalars[i + 1]
        if ["s", "t", "m", "d"].contains(next) { return 2 }
        guard i + 2 < end else { return nil }
        let pair = (next, scalars[i + 2])
        if pair == ("r", "e") || pair == ("v", "e") || pair == ("l", "l") { return 3 }
        return nil
    }

    /// The class whose run starting with `s` forms one piece: letters, numbers or other symbols.
    private static func runClass(of s: Unicode.Scalar) -> ((Unicode.Scalar) -> Bool)? {
        if ScalarClass.isLetter(s) { return ScalarClass.isLetter }
        if ScalarClass.isNumber(s) { return ScalarClass.isNumber }
        if !ScalarClass.isSpace(s) { return { !ScalarClass.isSpace($0) && !ScalarClass.isLetter($0) && !ScalarClass.isNumber($0) } }
        return nil
    }
}
