import Kernels
import Testing

@Suite struct SkinnyGEMMTests {
    // Rows 1 to 16 (groups of four and the rest), columns across the 16-wide tiles and the 512-column blocks,
    // depths across the 64-row blocks; leading dimensions wider than the matrices.
    @Test(arguments: [(1, 15, 1), (2, 16, 63), (3, 33, 64), (4, 600, 65), (5, 517, 130), (7, 40, 7), (16, 1030, 129)])
    func matchesReference(shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        let lda = k + 3, ldb = n + 5, ldc = n + 2
        var random = SeededGenerator(seed: UInt64(m * 1000 + n))
        let a = random.array(m * lda), b = random.array(k * ldb)
        var c = [Float](repeating: .nan, count: m * ldc)
        SkinnyGEMM.multiply(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: &c, ldc: ldc)
        var worst = 0.0
        for r in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for kk in 0..<k { sum += Double(a[r * lda + kk]) * Double(b[kk * ldb + j]) }
                worst = max(worst, abs(Double(c[r * ldc + j]) - sum) / max(1, abs(sum)))
            }
            // Padding past n in C is left alone.
            if ldc > n { #expect(c[r * ldc + n].isNaN) }
        }
        #expect(worst <= 1e-5, "\(shape): worst relative error \(worst)")
    }
}
