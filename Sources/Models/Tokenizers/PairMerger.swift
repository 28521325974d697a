/// Byte-pair merging of one word: repeatedly joins the adjacent pair with the best priority
/// (the lowest value; the leftmost pair on ties) until no adjacent pair has one. A heap of
/// candidate pairs keeps this O(n log n), so whole SentencePiece segments stay cheap.
///
/// Rank-based BPE (Hugging Face, llama.cpp's BPE) passes the merge rank as the priority;
/// score-based SentencePiece BPE passes the merged piece's score negated.
struct PairMerger {
    /// A finished symbol: its text and the initial symbols it covers.
    struct Symbol {
        var text: String
        var span: Range<Int>
    }

    /// The merged symbols, and, when asked, which two texts formed each merged text.
    struct Result {
        var symbols: [Symbol]
        var formedFrom: [String: (left: String, right: String)]
    }

    private struct Candidate: Comparable {
        let priority: Double
        let left: Int
        let right: Int
        /// Initial symbols the pair covered when queued; a different count means it changed.
        let covered: Int

        static func < (a: Candidate, b: Candidate) -> Bool {
            a.priority != b.priority ? a.priority < b.priority : a.left < b.left
        }
    }

    /// Merges `initial` by `priority(left, right)` (nil: the pair never merges).
    static func merge(_ initial: [String], recordHistory: Bool = false,
                      priority: (String, String) -> Double?) -> Result {
        let n = initial.count
        var texts = initial
        var next = Array(1...Swift.max(n, 1)), previous = Array(-1..<Swift.max(n - 1, 0))
        if n > 0 { next[n - 1] = -1 }
        var ends = Array(1...Swift.max(n, 1))
        var alive = [Bool](repeating: true, count: n)
        var heap = MinHeap<Candidate>()
        var history: [String: (left: String, right: String)] = [:]
        func consider(_ l: Int, _ r: Int) {
            guard l >= 0, r >= 0, let p = priority(texts[l], texts[r]) else { return }
            heap.push(Candidate(priority: p, left: l, right: r, covered: ends[r] - l))
        }
        for i in 0..<Swift.max(n - 1, 0) { consider(i, i + 1) }
        while let c = heap.pop() {
            let l = c.left, r = c.right
            guard alive[l], alive[r], next[l] == r, ends[r] - l == c.covered else { continue }
            if recordHistory { history[texts[l] + texts[r]] = (texts[l], texts[r]) }
            texts[l] += texts[r]
            alive[r] = false
            ends[l] = ends[r]
            next[l] = next[r]
            if next[r] >= 0 { previous[next[r]] = l }
            consider(previous[l], l)
            consider(l, next[l])
        }
        var symbols: [Symbol] = []
        var i = n > 0 ? 0 : -1
        while i >= 0 {
            symbols.append(Symbol(text: texts[i], span: i..<ends[i]))
            i = next[i]
        }
        return Result(symbols: symbols, formedFrom: history)
    }
}

/// A binary min-heap.
struct MinHeap<Element: Comparable> {
    private var items: [Element] = []

    var isEmpty: Bool { items.isEmpty }

    mutating func push(_ x: Element) {
        items.append(x)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[i] < items[parent] else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Element? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var smallest = i
                if l < items.count && items[l] < items[smallest] { smallest = l }
                if r < items.count && items[r] < items[smallest] { smallest = r }
                if smallest == i { break }
                items.swapAt(i, smallest)
                i = smallest
            }
        }
        return top
    }
}
