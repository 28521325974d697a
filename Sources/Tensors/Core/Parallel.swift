import Dispatch

/// Splits large elementwise work across the machine's cores.
public enum Parallel {
    /// Number of worker chunks used for large loops (the active processor count, at most 8).
    public static let workers: Int = Swift.min(Swift.max(ProcessInfo_activeProcessorCount(), 1), 8)

    /// Calls `body` on disjoint ranges that cover `0..<count`. Work below `grain` elements (or on
    /// a one-core machine) runs inline on the calling thread.
    @inlinable
    public static func forRanges(_ count: Int, grain: Int = 1 << 17, _ body: (Range<Int>) -> Void) {
        let chunks = Swift.min(workers, count / Swift.max(grain, 1))
        if chunks <= 1 {
            body(0..<count)
            return
        }
        // Chunk boundaries aligned to 16 elements keep vector loops on full lanes.
        let step = ((count + chunks - 1) / chunks + 15) & ~15
        withoutActuallyEscaping(body) { body in
            let box = UncheckedBox(body)
            DispatchQueue.concurrentPerform(iterations: chunks) { i in
                let start = i * step
                let end = Swift.min(count, start + step)
                if start < end { box.value(start..<end) }
            }
        }
    }
}

/// Moves a non-Sendable value into a concurrent closure whose uses are known to be safe.
@usableFromInline
struct UncheckedBox<T>: @unchecked Sendable {
    @usableFromInline let value: T
    @usableFromInline init(_ value: T) { self.value = value }
}

#if canImport(Glibc)
import Glibc
@usableFromInline func ProcessInfo_activeProcessorCount() -> Int { Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) }
#else
import Foundation
@usableFromInline func ProcessInfo_activeProcessorCount() -> Int { ProcessInfo.processInfo.activeProcessorCount }
#endif
