/// Scaled dot-product attention with grouped-query heads, causal masking and a sliding
/// window, built from two OpenBLAS GEMMs per (batch, head, query tile) and a vectorised
/// softmax between them.
///
/// Layouts (row-major): q and out [batch, queries, heads, headDim]; k and v
/// [batch, keys, kvHeads, headDim]. Query i sits at position p = keys - queries + i, so
/// queries = keys is prefill and queries = 1 is one decode step. Query head h reads kv head
/// h / (heads / kvHeads) (heads should be a multiple of kvHeads; otherwise the kv head is
/// clamped to the last one). A query at position p attends to keys
/// max(0, p - window + 1) ... p when `causal` (the window lower bound is dropped when
/// `window` is nil or below 1), and to max(0, p - window + 1) ... keys - 1 when not causal.
/// A query with no key (only possible when queries > keys) gets a zero output row.
///
/// FLOPs: 4·batch·heads·Σ_queries(keys attended)·headDim (QKᵀ and PV; softmax excluded).
/// The GEMMs compute a key range per query tile, so causal prefill does up to
/// (tile/2)/(keys/2) more arithmetic than the count (about 12% at keys 1024, tile 128).
public enum AttentionKernel {
    /// Query rows per tile: large enough for OpenBLAS to run near its peak, small enough
    /// that the masked-away triangle of a causal tile stays a small fraction.
    public static let queryTile = 128

    /// Floats of scratch `forward` needs: one tile of scores, min(queries, queryTile)·keys.
    public static func scratchCount(queries: Int, keys: Int) -> Int {
        max(1, min(max(queries, 0), queryTile) * max(keys, 0))
    }

    /// FLOPs by the convention above, for reporting.
    public static func flops(
        batch: Int, heads: Int, queries: Int, keys: Int, headDim: Int, causal: Bool, window: Int?
    ) -> Double {
        var attended = 0
        for query in 0..<max(queries, 0) {
            let range = keyRange(position: keys - queries + query, keys: keys, causal: causal, window: window)
            attended += max(0, range.upperBound - range.lowerBound + 1)
        }
        return 4 * Double(batch) * Double(heads) * Double(attended) * Double(headDim)
    }

    /// out = softmax(q·kᵀ / sqrt(headDim) + mask) · v. See the type's documentation.
    /// - Parameter scratch: at least `scratchCount(queries:keys:)` floats.
    public static func forward(
        q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
        out: UnsafeMutablePointer<Float>,
        batch: Int, heads: Int, kvHeads: Int, queries: Int, keys: Int, headDim: Int,
        causal: Bool, window: Int? = nil,
        scratch: UnsafeMutablePointer<Float>
    ) {
        guard batch > 0, heads > 0, kvHeads > 0, queries > 0, headDim > 0 else { return }
        let queryStride = heads * headDim
        let keyStride = kvHeads * headDim
        let group = max(1, heads / kvHeads)
        let effectiveWindow = (window ?? 0) >= 1 ? window : nil
        // Scores are produced in base-2 units (scaled by log2 e) so the softmax can use exp2.
        let scoreScale = FastMath.log2e / Float(headDim).squareRoot()
        // A tile under a sliding window computes window + tile - 1 columns per row, of which
        // only the window is used: shrink the tile toward window/4 (80% useful).
        let tile = effectiveWindow.map { min(queryTile, max(16, $0 / 4)) } ?? queryTile

        for batchIndex in 0..<batch {
            for head in 0..<heads {
                let kvHead = min(head / group, kvHeads - 1)
                let qHead = q + batchIndex * queries * queryStride + head * headDim
                let kHead = k + batchIndex * keys * keyStride + kvHead * headDim
                let vHead = v + batchIndex * keys * keyStride + kvHead * headDim
                let outHead = out + batchIndex * queries * queryStride + head * headDim
                var first = 0
                while first < queries {
                    let rows = min(tile, queries - first)
                    let firstRange = keyRange(
                        position: keys - queries + first, keys: keys, causal: causal, window: effectiveWindow)
                    let lastRange = keyRange(
                        position: keys - queries + first + rows - 1, keys: keys, causal: causal,
                        window: effectiveWindow)
                    let low = firstRange.lowerBound
                    let high = lastRange.upperBound
                    if high < low {
                        for row in 0..<rows {
                            (outHead + (first + row) * queryStride).initialize(repeating: 0, count: headDim)
                        }
                    } else {
                        let columns = high - low + 1
                        BLAS.sgemm(
                            transposeA: false, transposeB: true, m: rows, n: columns, k: headDim,
                            alpha: scoreScale, a: qHead + first * queryStride, lda: queryStride,
                            b: kHead + low * keyStride, ldb: keyStride,
                            beta: 0, c: scratch, ldc: columns)
                        for row in 0..<rows {
                            let range = keyRange(
                                position: keys - queries + first + row, keys: keys, causal: causal,
                                window: effectiveWindow)
                            softmaxRow(
                                scratch + row * columns, columns: columns,
                                validFrom: range.lowerBound - low, validThrough: range.upperBound - low)
                        }
                        BLAS.sgemm(
                            transposeA: false, transposeB: false, m: rows, n: headDim, k: columns,
                            alpha: 1, a: scratch, lda: columns, b: vHead + low * keyStride, ldb: keyStride,
                            beta: 0, c: outHead + first * queryStride, ldc: queryStride)
                    }
                    first += rows
                }
            }
        }
    }

    /// Keys a query at `position` attends to, as a closed range lower...upper (empty when
    /// upper < lower).
    @inline(__always)
    static func keyRange(position: Int, keys: Int, causal: Bool, window: Int?) -> (lowerBound: Int, upperBound: Int) {
        let upper = causal ? min(position, keys - 1) : keys - 1
        var lower = 0
        if let window, window >= 1 { lower = max(0, position - window + 1) }
        return (lower, upper)
    }

    /// In place: row[j] = 2^(row[j] - max) / Σ for j in validFrom...validThrough, 0 elsewhere.
    @inline(__always)
    static func softmaxRow(_ row: UnsafeMutablePointer<Float>, columns: Int, validFrom: Int, validThrough: Int) {
        let from = max(0, validFrom)
        let through = min(columns - 1, validThrough)
        guard through >= from else {
            row.initialize(repeating: 0, count: columns)
            return
        }
        if from > 0 { row.initialize(repeating: 0, count: from) }
        if through < columns - 1 { (row + through + 1).initialize(repeating: 0, count: columns - 1 - through) }
        let values = row + from
        let count = through - from + 1

        var maxVector = SIMD8<Float>(repeating: -.greatestFiniteMagnitude)
        var i = 0
        while i + 8 <= count {
            maxVector = laneMax(maxVector, load8(values + i))
            i += 8
        }
        var maximum = horizontalMax(maxVector)
        while i < count {
            maximum = max(maximum, values[i])
            i += 1
        }

        let shift = SIMD8<Float>(repeating: maximum)
        var sum0 = SIMD8<Float>(), sum1 = SIMD8<Float>()
        i = 0
        while i + 16 <= count {
            let e0 = FastMath.exp2(load8(values + i) - shift)
            let e1 = FastMath.exp2(load8(values + i + 8) - shift)
            store8(e0, values + i)
            store8(e1, values + i + 8)
            sum0 += e0
            sum1 += e1
            i += 16
        }
        if i + 8 <= count {
            let e0 = FastMath.exp2(load8(values + i) - shift)
            store8(e0, values + i)
            sum0 += e0
            i += 8
        }
        if i < count {
            let rest = count - i
            let e = FastMath.exp2(loadPartial8(values + i, count: rest, fill: -.greatestFiniteMagnitude) - shift)
            let kept = e.replacing(with: 0, where: SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7) .>= Int32(rest))
            storePartial8(kept, values + i, count: rest)
            sum0 += kept
        }
        let scale = SIMD8<Float>(repeating: 1 / horizontalSum(sum0 + sum1))
        i = 0
        while i + 8 <= count {
            store8(load8(values + i) * scale, values + i)
            i += 8
        }
        while i < count {
            values[i] *= scale[0]
            i += 1
        }
    }
}
