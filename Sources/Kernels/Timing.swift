#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Monotonic wall-clock time for measuring kernels.
public enum Timing {
    /// Nanoseconds on the monotonic clock (`clock_gettime(CLOCK_MONOTONIC)`); the origin is
    /// arbitrary, only differences mean anything.
    @inline(__always)
    public static func now() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(truncatingIfNeeded: spec.tv_sec) &* 1_000_000_000
            &+ UInt64(truncatingIfNeeded: spec.tv_nsec)
    }

    /// Seconds elapsed since `start`, a value of `now()`.
    @inline(__always)
    public static func seconds(since start: UInt64) -> Double {
        Double(now() &- start) * 1e-9
    }

    /// The smallest time difference the clock resolves, in nanoseconds: the larger of the
    /// clock's stated resolution (`clock_getres`) and the smallest nonzero difference seen
    /// between back-to-back `now()` calls (which includes the cost of reading the clock).
    public static func resolutionNanoseconds() -> Double {
        var spec = timespec()
        clock_getres(CLOCK_MONOTONIC, &spec)
        let stated = Double(spec.tv_sec) * 1e9 + Double(spec.tv_nsec)
        var smallest = UInt64.max
        for _ in 0..<1000 {
            let first = now()
            var second = now()
            while second == first { second = now() }
            smallest = min(smallest, second &- first)
        }
        return max(stated, Double(smallest))
    }
}
