import COpenBLAS

/// Thin wrapper over OpenBLAS's CBLAS single-precision GEMM (`cblas_sgemm`), row-major.
///
/// OpenBLAS's `blasint` is 32-bit in Debian's build: every size and leading dimension must
/// fit in `Int32` (larger values are clamped, giving wrong results rather than a trap).
public enum BLAS {
    /// Sets how many threads OpenBLAS may use (`openblas_set_num_threads`); values below 1
    /// count as 1. Keep it at 1 when each lane is its own thread.
    public static func setThreads(_ n: Int) {
        openblas_set_num_threads(Int32(clamping: max(1, n)))
    }

    /// The number of threads OpenBLAS currently uses (`openblas_get_num_threads`).
    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// C = A·B (or C += A·B when `accumulate`), A m×k, B k×n, C m×n, all dense row-major.
    ///
    /// FLOPs: 2·m·n·k.
    public static func sgemm(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>,
        accumulate: Bool = false
    ) {
        sgemm(
            transposeA: false, transposeB: false, m: m, n: n, k: k,
            alpha: 1, a: a, lda: k, b: b, ldb: n,
            beta: accumulate ? 1 : 0, c: c, ldc: n)
    }

    /// C = alpha·op(A)·op(B) + beta·C, row-major with explicit leading dimensions (the
    /// distance in floats between consecutive rows as stored). op(A) is m×k, op(B) k×n.
    /// With `beta` 0, C need not be initialised.
    ///
    /// FLOPs: 2·m·n·k.
    public static func sgemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        guard k > 0 else {
            // An empty product: C = beta·C (OpenBLAS would also do this, but spell it out).
            for row in 0..<m {
                let line = c + row * ldc
                for column in 0..<n { line[column] = beta == 0 ? 0 : beta * line[column] }
            }
            return
        }
        cblas_sgemm(
            CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
            Int32(clamping: m), Int32(clamping: n), Int32(clamping: k),
            alpha, a, Int32(clamping: lda), b, Int32(clamping: ldb),
            beta, c, Int32(clamping: ldc))
    }

    /// y = alpha·op(A)·x + beta·y (`cblas_sgemv`), A m×n row-major with leading dimension
    /// `lda`; op(A) = Aᵀ (n×m) when `transpose`. x and y are contiguous.
    ///
    /// FLOPs: 2·m·n. OpenBLAS 0.3.21's sgemm does not forward m = 1 to this, and packing
    /// then costs as much as the product: call it directly for matrix-vector work.
    public static func sgemv(
        transpose: Bool, m: Int, n: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
        x: UnsafePointer<Float>, beta: Float, y: UnsafeMutablePointer<Float>
    ) {
        let outputs = transpose ? n : m
        guard outputs > 0 else { return }
        guard m > 0, n > 0 else {
            for i in 0..<outputs { y[i] = beta == 0 ? 0 : beta * y[i] }
            return
        }
        cblas_sgemv(
            CblasRowMajor, transpose ? CblasTrans : CblasNoTrans, Int32(clamping: m), Int32(clamping: n),
            alpha, a, Int32(clamping: lda), x, 1, beta, y, 1)
    }
}
