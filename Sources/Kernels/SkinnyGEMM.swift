/// C = A·B for a few rows of A (decode-shaped GEMMs: m of 2 to about 16), A m×k, B k×n, C m×n, row-major
/// with leading dimensions, streaming B from memory once.
///
/// OpenBLAS's `sgemm` packs B into a buffer before its microkernel runs; with a few rows of A there is
/// too little arithmetic to hide that, and it reaches 8–14 GB/s of B per core here. This kernel walks B
/// in blocks of `blockRows` rows × `blockColumns` columns (128 KiB: it stays in L2): first a streaming
/// pass reads the block row by row, in order, so the prefetchers fetch long runs of memory; then rows of
/// A in groups of four run over it from L2 with 4×16 accumulators in registers, and add into C.
///
/// Bytes: B (4·k·n) once from memory, A and C small. FLOPs: 2·m·n·k.
public enum SkinnyGEMM {
    public static let blockRows = 64
    public static let blockColumns = 512

    public static func multiply(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        for row in 0..<m { (c + row * ldc).update(repeating: 0, count: n) }
        guard k > 0 else { return }
        var sink = SIMD8<Float>()
        var k0 = 0
        while k0 < k {
            let kb = min(blockRows, k - k0)
            var j0 = 0
            while j0 < n {
                let nb = min(blockColumns, n - j0)
                let block = b + k0 * ldb + j0
                // Streaming pass: bring the block in, row by row, in memory order.
                for r in 0..<kb {
                    let line = block + r * ldb
                    var j = 0
                    while j + 32 <= nb {
                        sink += load8(line + j) + load8(line + j + 8) + load8(line + j + 16) + load8(line + j + 24)
                        j += 32
                    }
                    while j + 8 <= nb { sink += load8(line + j); j += 8 }
                }
                // Compute from cache: four rows of A at a time.
                var r0 = 0
                while r0 < m {
                    let rows = min(4, m - r0)
                    compute(rows: rows, kb: kb, nb: nb, a: a + r0 * lda + k0, lda: lda, b: block, ldb: ldb, c: c + r0 * ldc + j0, ldc: ldc)
                    r0 += rows
                }
                j0 += nb
            }
            k0 += kb
        }
        // Keep the streaming loads (their sum is never used otherwise).
        if sink[0].isNaN && sink[1] == .infinity { c[0] += 0 }
    }

    @inline(__always)
    static func add(_ low: SIMD8<Float>, _ high: SIMD8<Float>, to out: UnsafeMutablePointer<Float>) {
        store8(load8(out) + low, out)
        store8(load8(out + 8) + high, out + 8)
    }

    /// C[rows, nb] += A[rows, kb] · B[kb, nb], rows ≤ 4, B in cache.
    @inline(__always)
    static func compute(rows: Int, kb: Int, nb: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                        c: UnsafeMutablePointer<Float>, ldc: Int) {
        var j = 0
        while j + 16 <= nb {
            var c00 = SIMD8<Float>(), c01 = SIMD8<Float>(), c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
            var c20 = SIMD8<Float>(), c21 = SIMD8<Float>(), c30 = SIMD8<Float>(), c31 = SIMD8<Float>()
            let a0 = a, a1 = a + (rows > 1 ? lda : 0), a2 = a + (rows > 2 ? 2 * lda : 0), a3 = a + (rows > 3 ? 3 * lda : 0)
            var p = b + j
            for kk in 0..<kb {
                let b0 = load8(p), b1 = load8(p + 8)
                let x0 = SIMD8<Float>(repeating: a0[kk]), x1 = SIMD8<Float>(repeating: a1[kk])
                let x2 = SIMD8<Float>(repeating: a2[kk]), x3 = SIMD8<Float>(repeating: a3[kk])
                c00.addProduct(x0, b0); c01.addProduct(x0, b1)
                c10.addProduct(x1, b0); c11.addProduct(x1, b1)
                c20.addProduct(x2, b0); c21.addProduct(x2, b1)
                c30.addProduct(x3, b0); c31.addProduct(x3, b1)
                p += ldb
            }
            // Rows past `rows` repeated row 0's data: only the real rows are written.
            add(c00, c01, to: c + j)
            if rows > 1 { add(c10, c11, to: c + ldc + j) }
            if rows > 2 { add(c20, c21, to: c + 2 * ldc + j) }
            if rows > 3 { add(c30, c31, to: c + 3 * ldc + j) }
            j += 16
        }
        // The last columns, one at a time.
        while j < nb {
            for r in 0..<rows {
                var sum: Float = 0
                for kk in 0..<kb { sum += a[r * lda + kk] * b[kk * ldb + j] }
                c[r * ldc + j] += sum
            }
            j += 1
        }
    }
}
