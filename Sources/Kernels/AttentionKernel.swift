/// Scaled dot-product attention with grouped-query heads, causal masking and a sliding
/// window. Prefill (queries > 1) runs two OpenBLAS GEMMs per (batch, head, query tile) with a
/// vectorised softmax between them; a decode step (queries = 1) walks the cache once for all
/// heads with an online softmax (see `decode`).
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

    /// Floats of scratch `forward` needs: a tile of scores, min(queries, queryTile)·keys,
    /// and at least what decoding needs, maxDecodeHeads·(decodeKeyChunk + 2).
    public static func scratchCount(queries: Int, keys: Int) -> Int {
        max(min(max(queries, 0), queryTile) * max(keys, 0), maxDecodeHeads * (decodeKeyChunk + 2))
    }

    /// Keys per chunk of the decode step's online softmax.
    public static let decodeKeyChunk = 64

    /// Most query heads the all-heads decode step handles (more fall back to one head at a
    /// time, which is slower for long caches).
    public static let maxDecodeHeads = 128

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
        let mask = Mask(keys: keys, causal: causal, window: (window ?? 0) >= 1 ? window : nil)
        let geometry = Geometry(
            headDim: headDim, keyStride: keyStride,
            // Scores come out in base-2 units (scaled by log2 e) so the softmax uses exp2.
            scoreScale: FastMath.log2e / Float(headDim).squareRoot())

        if queries == 1 && heads <= maxDecodeHeads {
            for batchIndex in 0..<batch {
                decode(
                    q: q + batchIndex * queryStride, k: k + batchIndex * keys * keyStride,
                    v: v + batchIndex * keys * keyStride, out: out + batchIndex * queryStride,
                    heads: heads, kvHeads: kvHeads, group: group, mask: mask, geometry: geometry, scratch: scratch)
            }
            return
        }

        // A tile under a sliding window computes window + tile - 1 columns per row, of which
        // only the window is used: shrink the tile toward window/4 (80% useful).
        let tile = mask.window.map { min(queryTile, max(16, $0 / 4)) } ?? queryTile
        for batchIndex in 0..<batch {
            for head in 0..<heads {
                let kvHead = min(head / group, kvHeads - 1)
                let qHead = q + batchIndex * queries * queryStride + head * headDim
                let outHead = out + batchIndex * queries * queryStride + head * headDim
                var first = 0
                while first < queries {
                    let rows = min(tile, queries - first)
                    attendTile(
                        q: qHead + first * queryStride, qRowStride: queryStride,
                        out: outHead + first * queryStride, outRowStride: queryStride,
                        rows: rows, firstPosition: keys - queries + first,
                        k: k + batchIndex * keys * keyStride + kvHead * headDim,
                        v: v + batchIndex * keys * keyStride + kvHead * headDim,
                        mask: mask, geometry: geometry, scratch: scratch)
                    first += rows
                }
            }
        }
    }

    /// Which keys a position sees.
    struct Mask {
        let keys: Int
        let causal: Bool
        let window: Int?
        @inline(__always)
        func range(_ position: Int) -> (lowerBound: Int, upperBound: Int) {
            keyRange(position: position, keys: keys, causal: causal, window: window)
        }
    }

    /// Strides and scale shared by every tile.
    struct Geometry {
        let headDim: Int
        let keyStride: Int
        let scoreScale: Float
    }

    /// Attention for `rows` consecutive queries of one head against its kv head: row r sits
    /// at position firstPosition + r. Scores for the key range the rows jointly need go to
    /// `scratch`, then softmax, then P·V into `out`.
    @inline(__always)
    static func attendTile(
        q: UnsafePointer<Float>, qRowStride: Int, out: UnsafeMutablePointer<Float>, outRowStride: Int,
        rows: Int, firstPosition: Int,
        k: UnsafePointer<Float>, v: UnsafePointer<Float>,
        mask: Mask, geometry: Geometry, scratch: UnsafeMutablePointer<Float>
    ) {
        let headDim = geometry.headDim
        let keyStride = geometry.keyStride
        let low = mask.range(firstPosition).lowerBound
        let high = mask.range(firstPosition + rows - 1).upperBound
        guard high >= low else {
            for row in 0..<rows { (out + row * outRowStride).initialize(repeating: 0, count: headDim) }
            return
        }
        let columns = high - low + 1
        if rows == 1 {
            // Matrix-vector products: sgemm would pack K for a single row.
            BLAS.sgemv(
                transpose: false, m: columns, n: headDim, alpha: geometry.scoreScale,
                a: k + low * keyStride, lda: keyStride, x: q, beta: 0, y: scratch)
        } else {
            BLAS.sgemm(
                transposeA: false, transposeB: true, m: rows, n: columns, k: headDim,
                alpha: geometry.scoreScale, a: q, lda: qRowStride, b: k + low * keyStride, ldb: keyStride,
                beta: 0, c: scratch, ldc: columns)
        }
        for row in 0..<rows {
            let range = mask.range(firstPosition + row)
            softmaxRow(
                scratch + row * columns, columns: columns,
                validFrom: range.lowerBound - low, validThrough: range.upperBound - low)
        }
        if rows == 1 {
            BLAS.sgemv(
                transpose: true, m: columns, n: headDim, alpha: 1, a: v + low * keyStride, lda: keyStride,
                x: scratch, beta: 0, y: out)
        } else {
            BLAS.sgemm(
                transposeA: false, transposeB: false, m: rows, n: headDim, k: columns,
                alpha: 1, a: scratch, lda: columns, b: v + low * keyStride, ldb: keyStride,
                beta: 0, c: out, ldc: outRowStride)
        }
    }

    /// One decode step (a single query per head) for all heads at once: the keys are walked
    /// in chunks of `decodeKeyChunk`, each key row (every kv head's slice, contiguous) read
    /// once for all the query heads that use it, with an online softmax (running maximum and
    /// sum per head, earlier partial outputs rescaled when the maximum grows; Milakov and
    /// Gimelshein 2018). Walking one head at a time instead reads a few hundred bytes per
    /// key row, a page apart, which the prefetchers do not follow.
    static func decode(
        q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
        heads: Int, kvHeads: Int, group: Int, mask: Mask, geometry: Geometry, scratch: UnsafeMutablePointer<Float>
    ) {
        let headDim = geometry.headDim
        let keyStride = geometry.keyStride
        let range = mask.range(mask.keys - 1)
        out.initialize(repeating: 0, count: heads * headDim)
        guard range.upperBound >= range.lowerBound else { return }
        let runningMax = scratch
        let runningSum = scratch + heads
        let scores = scratch + 2 * heads  // heads × decodeKeyChunk
        runningMax.initialize(repeating: -.greatestFiniteMagnitude, count: heads)
        runningSum.initialize(repeating: 0, count: heads)
        var chunkStart = range.lowerBound
        while chunkStart <= range.upperBound {
            let columns = min(decodeKeyChunk, range.upperBound - chunkStart + 1)
            for column in 0..<columns {
                let keyRow = k + (chunkStart + column) * keyStride
                // Up to four heads at a time share each load of the key.
                var head = 0
                while head < heads {
                    let kvHead = min(head / group, kvHeads - 1)
                    let sharing = min(4, heads - head, (kvHead + 1) * group - head)
                    if sharing <= 1 {
                        scores[head * decodeKeyChunk + column] =
                            dot(q + head * headDim, keyRow + kvHead * headDim, count: headDim) * geometry.scoreScale
                        head += 1
                        continue
                    }
                    let dots = dot4(
                        q: q + head * headDim, heads: sharing, headDim: headDim,
                        key: keyRow + kvHead * headDim)
                    for offset in 0..<sharing {
                        scores[(head + offset) * decodeKeyChunk + column] = dots[offset] * geometry.scoreScale
                    }
                    head += sharing
                }
            }
            for head in 0..<heads {
                let row = scores + head * decodeKeyChunk
                let newMax = max(runningMax[head], rowMaximum(row, count: columns))
                let rescale = FastMath.exp2(SIMD8<Float>(repeating: runningMax[head] - newMax))[0]
                runningMax[head] = newMax
                runningSum[head] = runningSum[head] * rescale + exponentiate(row, count: columns, shift: newMax)
                if rescale != 1 { scale(out + head * headDim, count: headDim, by: rescale) }
            }
            for head in 0..<heads {
                let kvHead = min(head / group, kvHeads - 1)
                accumulateChunk(
                    out + head * headDim, weights: scores + head * decodeKeyChunk,
                    values: v + chunkStart * keyStride + kvHead * headDim, valueStride: keyStride,
                    columns: columns, headDim: headDim)
            }
            chunkStart += columns
        }
        for head in 0..<heads { scale(out + head * headDim, count: headDim, by: 1 / runningSum[head]) }
    }

    /// Dot products of one key with up to four consecutive query rows (stride headDim);
    /// lanes past `heads` repeat the first row and are ignored.
    @inline(__always)
    static func dot4(q: UnsafePointer<Float>, heads: Int, headDim: Int, key: UnsafePointer<Float>) -> SIMD4<Float> {
        let q0 = q
        let q1 = heads > 1 ? q + headDim : q
        let q2 = heads > 2 ? q + 2 * headDim : q
        let q3 = heads > 3 ? q + 3 * headDim : q
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>(), acc2 = SIMD8<Float>(), acc3 = SIMD8<Float>()
        var i = 0
        while i + 8 <= headDim {
            let keyVector = load8(key + i)
            acc0 = acc0.addingProduct(load8(q0 + i), keyVector)
            acc1 = acc1.addingProduct(load8(q1 + i), keyVector)
            acc2 = acc2.addingProduct(load8(q2 + i), keyVector)
            acc3 = acc3.addingProduct(load8(q3 + i), keyVector)
            i += 8
        }
        var result = SIMD4<Float>(horizontalSum(acc0), horizontalSum(acc1), horizontalSum(acc2), horizontalSum(acc3))
        while i < headDim {
            result = result.addingProduct(SIMD4<Float>(q0[i], q1[i], q2[i], q3[i]), key[i])
            i += 1
        }
        return result
    }

    @inline(__always)
    static func rowMaximum(_ row: UnsafeMutablePointer<Float>, count: Int) -> Float {
        var maxVector = SIMD8<Float>(repeating: -.greatestFiniteMagnitude)
        var i = 0
        while i + 8 <= count {
            maxVector = laneMax(maxVector, load8(row + i))
            i += 8
        }
        var maximum = horizontalMax(maxVector)
        while i < count {
            maximum = max(maximum, row[i])
            i += 1
        }
        return maximum
    }

    /// row[j] = 2^(row[j] - shift) in place; returns the sum.
    @inline(__always)
    static func exponentiate(_ row: UnsafeMutablePointer<Float>, count: Int, shift: Float) -> Float {
        let shiftVector = SIMD8<Float>(repeating: shift)
        var sum0 = SIMD8<Float>(), sum1 = SIMD8<Float>()
        var i = 0
        while i + 16 <= count {
            let e0 = FastMath.exp2(load8(row + i) - shiftVector)
            let e1 = FastMath.exp2(load8(row + i + 8) - shiftVector)
            store8(e0, row + i)
            store8(e1, row + i + 8)
            sum0 += e0
            sum1 += e1
            i += 16
        }
        if i + 8 <= count {
            let e0 = FastMath.exp2(load8(row + i) - shiftVector)
            store8(e0, row + i)
            sum0 += e0
            i += 8
        }
        if i < count {
            let rest = count - i
            let e = FastMath.exp2(loadPartial8(row + i, count: rest, fill: -.greatestFiniteMagnitude) - shiftVector)
            let kept = e.replacing(with: 0, where: SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7) .>= Int32(rest))
            storePartial8(kept, row + i, count: rest)
            sum0 += kept
        }
        return horizontalSum(sum0 + sum1)
    }

    @inline(__always)
    static func scale(_ row: UnsafeMutablePointer<Float>, count: Int, by factor: Float) {
        let factorVector = SIMD8<Float>(repeating: factor)
        var i = 0
        while i + 8 <= count {
            store8(load8(row + i) * factorVector, row + i)
            i += 8
        }
        while i < count {
            row[i] *= factor
            i += 1
        }
    }

    /// target += Σ_j weights[j] · values[j] over `columns` value rows, with the target held
    /// in registers 64 floats at a time across all rows (updating it in memory per row
    /// would be bound by the core's one 256-bit store per cycle).
    @inline(__always)
    static func accumulateChunk(
        _ target: UnsafeMutablePointer<Float>, weights: UnsafePointer<Float>, values: UnsafePointer<Float>,
        valueStride: Int, columns: Int, headDim: Int
    ) {
        var d = 0
        while d + 64 <= headDim {
            var a0 = load8(target + d), a1 = load8(target + d + 8), a2 = load8(target + d + 16)
            var a3 = load8(target + d + 24), a4 = load8(target + d + 32), a5 = load8(target + d + 40)
            var a6 = load8(target + d + 48), a7 = load8(target + d + 56)
            for column in 0..<columns {
                let weight = SIMD8<Float>(repeating: weights[column])
                let row = values + column * valueStride + d
                a0 = a0.addingProduct(weight, load8(row))
                a1 = a1.addingProduct(weight, load8(row + 8))
                a2 = a2.addingProduct(weight, load8(row + 16))
                a3 = a3.addingProduct(weight, load8(row + 24))
                a4 = a4.addingProduct(weight, load8(row + 32))
                a5 = a5.addingProduct(weight, load8(row + 40))
                a6 = a6.addingProduct(weight, load8(row + 48))
                a7 = a7.addingProduct(weight, load8(row + 56))
            }
            store8(a0, target + d); store8(a1, target + d + 8); store8(a2, target + d + 16)
            store8(a3, target + d + 24); store8(a4, target + d + 32); store8(a5, target + d + 40)
            store8(a6, target + d + 48); store8(a7, target + d + 56)
            d += 64
        }
        while d + 8 <= headDim {
            var accumulator = load8(target + d)
            for column in 0..<columns {
                accumulator = accumulator.addingProduct(SIMD8<Float>(repeating: weights[column]), load8(values + column * valueStride + d))
            }
            store8(accumulator, target + d)
            d += 8
        }
        while d < headDim {
            var accumulator = target[d]
            for column in 0..<columns {
                accumulator = accumulator.addingProduct(weights[column], values[column * valueStride + d])
            }
            target[d] = accumulator
            d += 1
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
        let total = exponentiate(values, count: count, shift: rowMaximum(values, count: count))
        scale(values, count: count, by: 1 / total)
    }
}
