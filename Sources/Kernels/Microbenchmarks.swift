/// Measures this machine's limits, to express kernel speeds as fractions of them.
public enum Microbenchmarks {
    /// Single-core fp32 FMA throughput, FLOP/s: 12 independent chains of 8-wide fused
    /// multiply-adds kept in registers (2 FLOPs per lane per FMA), run in blocks for about
    /// `seconds`; returns the best block. The release build emits `vfmadd…ps %ymm` for the
    /// chains (checked with objdump).
    public static func fmaPeakFlopsPerSecond(seconds: Double) -> Double {
        // A seed the optimiser cannot know, so the chains are not folded away.
        let seed = 1 + Float(Timing.now() & 1) * 1e-3
        var checksum: Float = 0
        var best = 0.0
        // Blocks grow until one lasts at least 1 ms (about 2^20 iterations at full speed), so
        // the clock's resolution and the call overhead do not matter.
        var iterations = 1 << 12
        let start = Timing.now()
        repeat {
            let blockStart = Timing.now()
            checksum += fmaChains(iterations: iterations, seed: seed)
            let elapsed = Timing.seconds(since: blockStart)
            if elapsed < 1e-3 && iterations < 1 << 24 {
                iterations *= 2
            } else if elapsed > 0 {
                best = max(best, Double(iterations) * 12 * 8 * 2 / elapsed)
            }
        } while Timing.seconds(since: start) < seconds || (best == 0 && Timing.seconds(since: start) < 1 + 10 * seconds)
        // The chains converge to 1e-7 / (1 - 0.9999999) = 1 per lane; never NaN in practice.
        return checksum.isNaN ? 0 : best
    }

    /// Single-core STREAM triad bandwidth, bytes/s: c = a + s·b over three arrays of
    /// `megabytes` MiB each (make them much larger than the L3), counting 12 bytes per
    /// element; buffers are touched and one warm-up pass run before timing; returns the
    /// best pass within about `seconds`. Allocates the arrays (3·megabytes MiB) itself.
    public static func triadBytesPerSecond(megabytes: Int, seconds: Double) -> Double {
        let count = max(1, megabytes) * (1 << 20) / MemoryLayout<Float>.stride
        let a = UnsafeMutablePointer<Float>.allocate(capacity: count)
        let b = UnsafeMutablePointer<Float>.allocate(capacity: count)
        let c = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer {
            a.deallocate()
            b.deallocate()
            c.deallocate()
        }
        a.initialize(repeating: 1, count: count)
        b.initialize(repeating: 2, count: count)
        c.initialize(repeating: 0, count: count)
        ElementwiseKernels.triad(a: a, b: b, c: c, scalar: 3, count: count)
        let bytes = Double(count) * 12
        var best = 0.0
        let start = Timing.now()
        repeat {
            let passStart = Timing.now()
            ElementwiseKernels.triad(a: a, b: b, c: c, scalar: 3, count: count)
            let elapsed = Timing.seconds(since: passStart)
            if elapsed > 0 { best = max(best, bytes / elapsed) }
        } while Timing.seconds(since: start) < seconds
        return c[count - 1] == 7 ? best : 0
    }

    /// 12 chains acc = acc·m + add, independent so two FMA pipes stay busy despite the
    /// 4-cycle FMA latency (12 ≥ 2 pipes × 4 cycles, with room to spare).
    @inline(never)
    static func fmaChains(iterations: Int, seed: Float) -> Float {
        let multiplier = SIMD8<Float>(repeating: 0.999_999_9)
        let addend = SIMD8<Float>(repeating: 1e-7)
        var c0 = SIMD8<Float>(repeating: seed), c1 = c0 + 1, c2 = c0 + 2, c3 = c0 + 3
        var c4 = c0 + 4, c5 = c0 + 5, c6 = c0 + 6, c7 = c0 + 7
        var c8 = c0 + 8, c9 = c0 + 9, c10 = c0 + 10, c11 = c0 + 11
        var remaining = iterations
        while remaining > 0 {
            c0 = addend.addingProduct(c0, multiplier)
            c1 = addend.addingProduct(c1, multiplier)
            c2 = addend.addingProduct(c2, multiplier)
            c3 = addend.addingProduct(c3, multiplier)
            c4 = addend.addingProduct(c4, multiplier)
            c5 = addend.addingProduct(c5, multiplier)
            c6 = addend.addingProduct(c6, multiplier)
            c7 = addend.addingProduct(c7, multiplier)
            c8 = addend.addingProduct(c8, multiplier)
            c9 = addend.addingProduct(c9, multiplier)
            c10 = addend.addingProduct(c10, multiplier)
            c11 = addend.addingProduct(c11, multiplier)
            remaining -= 1
        }
        let total = ((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7)) + ((c8 + c9) + (c10 + c11))
        return horizontalSum(total)
    }
}
