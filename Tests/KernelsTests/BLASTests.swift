import Kernels
import Testing

@Suite struct BLASTests {
    /// C = A·B in Double, the textbook triple loop.
    static func reference(m: Int, n: Int, k: Int, a: [Float], b: [Float]) -> [Double] {
        var c = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k { sum += Double(a[i * k + p]) * Double(b[p * n + j]) }
                c[i * n + j] = sum
            }
        }
        return c
    }

    @Test(arguments: [(1, 1, 1), (7, 5, 3), (33, 17, 65), (64, 64, 64)])
    func sgemmMatchesTripleLoop(shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        var random = SeededGenerator(seed: 1)
        let a = random.array(m * k), b = random.array(k * n)
        var c = [Float](repeating: 9, count: m * n)  // overwritten, not accumulated
        BLAS.sgemm(m: m, n: n, k: k, a: a, b: b, c: &c)
        expectClose(c, Self.reference(m: m, n: n, k: k, a: a, b: b), tolerance: 1e-5, "sgemm \(shape)")
    }

    @Test func sgemmAccumulates() {
        var random = SeededGenerator(seed: 2)
        let (m, n, k) = (9, 11, 13)
        let a = random.array(m * k), b = random.array(k * n)
        let start = random.array(m * n)
        var c = start
        BLAS.sgemm(m: m, n: n, k: k, a: a, b: b, c: &c, accumulate: true)
        let expected = zip(Self.reference(m: m, n: n, k: k, a: a, b: b), start).map { $0 + Double($1) }
        expectClose(c, expected, tolerance: 1e-5, "accumulate")
    }

    @Test func transposedOperandsAndLeadingDimensions() {
        var random = SeededGenerator(seed: 3)
        let (m, n, k) = (5, 6, 7)
        // Aᵀ stored k×m with leading dimension m + 2; Bᵀ stored n×k with leading dimension k + 1.
        let lda = m + 2, ldb = k + 1, ldc = n + 3
        let aStored = random.array(k * lda), bStored = random.array(n * ldb)
        var c = [Float](repeating: 0, count: m * ldc)
        BLAS.sgemm(
            transposeA: true, transposeB: true, m: m, n: n, k: k, alpha: 2, a: aStored, lda: lda,
            b: bStored, ldb: ldb, beta: 0, c: &c, ldc: ldc)
        var expected = [Double](repeating: 0, count: m * ldc)
        var actual = [Float](repeating: 0, count: m * ldc)
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k { sum += Double(aStored[p * lda + i]) * Double(bStored[j * ldb + p]) }
                expected[i * ldc + j] = 2 * sum
                actual[i * ldc + j] = c[i * ldc + j]
            }
        }
        expectClose(actual, expected, tolerance: 1e-5, "transposed")
    }

    @Test func emptyInnerDimensionZeroesOrScales() {
        var c: [Float] = [1, 2, 3, 4]
        let none: [Float] = [0]
        BLAS.sgemm(m: 2, n: 2, k: 0, a: none, b: none, c: &c)
        #expect(c == [0, 0, 0, 0])
        c = [1, 2, 3, 4]
        BLAS.sgemm(m: 2, n: 2, k: 0, a: none, b: none, c: &c, accumulate: true)
        #expect(c == [1, 2, 3, 4])
    }

    @Test func threadCountCanBeSet() {
        BLAS.setThreads(1)
        #expect(BLAS.threads == 1)
        BLAS.setThreads(0)  // clamped to 1, never an error
        #expect(BLAS.threads == 1)
    }
}
