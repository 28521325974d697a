import Dispatch

/// Splits large elementwise work across the machine's cores.
public enum Parallel {
    /// Number of worker chunks used for large loops (the active processor count, at most 8).
    public static let workers: Int = Swift.min(Swift.max(ProcessInfo_activeProcessorCount(), 1), 8)

    /// Calls `body` on disjoint ranges that cover `0..<count`. Work below `grain` items (or on a
    /// one-core machine) runs inline on the calling thread. Range starts are multiples of
    /// `alignment`: 16 keeps vector loops over elements on full lanes; loops over rows pass 1.
    @inlinable
    public static func forRanges(_ count: Int, grain: Int = 1 << 17, alignment: Int = 16, _ body: (Range<Int>) -> Void) {
        let chunks = Swift.min(workers, count / Swift.max(grain, 1))
        if chunks <= 1 {
            body(0..<count)
            return
        }
        let a = Swift.max(alignment, 1)
        let step = ((count + chunks - 1) / chunks + a - 1) / a * a
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
