import Foundation
import Kernels
import Testing

@Suite struct AttentionKernelTests {
    struct Shape: CustomStringConvertible, Sendable {
        var batch = 1, heads = 2, kvHeads = 2, queries = 8, keys = 8, headDim = 16
        var causal = true
        var window: Int? = nil
        var description: String {
            "b\(batch) h\(heads)/\(kvHeads) q\(queries) k\(keys) d\(headDim) causal \(causal) window \(window.map(String.init) ?? "-")"
        }
    }

    /// Softmax attention written out directly, in Double: query i at position
    /// keys - queries + i sees keys max(0, p - window + 1) ... (causal ? p : keys - 1).
    static func reference(_ shape: Shape, q: [Float], k: [Float], v: [Float]) -> [Double] {
        let group = shape.heads / shape.kvHeads
        var out = [Double](repeating: 0, count: q.count)
        for b in 0..<shape.batch {
            for h in 0..<shape.heads {
                let g = h / group
                for i in 0..<shape.queries {
                    let position = shape.keys - shape.queries + i
                    let high = shape.causal ? min(position, shape.keys - 1) : shape.keys - 1
                    let low = shape.window.map { max(0, position - $0 + 1) } ?? 0
                    guard high >= low else { continue }
                    let qBase = ((b * shape.queries + i) * shape.heads + h) * shape.headDim
                    var scores = [Double]()
                    for j in low...high {
                        let kBase = ((b * shape.keys + j) * shape.kvHeads + g) * shape.headDim
                        var dot = 0.0
                        for x in 0..<shape.headDim { dot += Double(q[qBase + x]) * Double(k[kBase + x]) }
                        scores.append(dot / Double(shape.headDim).squareRoot())
                    }
                    let maximum = scores.max() ?? 0
                    let weights = scores.map { Foundation.exp($0 - maximum) }
                    let total = weights.reduce(0, +)
                    for (offset, j) in (low...high).enumerated() {
                        let vBase = ((b * shape.keys + j) * shape.kvHeads + g) * shape.headDim
                        for x in 0..<shape.headDim {
                            out[qBase + x] += weights[offset] / total * Double(v[vBase + x])
                        }
                    }
                }
            }
        }
        return out
    }

    static func run(_ shape: Shape, seed: UInt64) -> (actual: [Float], expected: [Double]) {
        var random = SeededGenerator(seed: seed)
        let q = random.array(shape.batch * shape.queries * shape.heads * shape.headDim, -2, 2)
        let k = random.array(shape.batch * shape.keys * shape.kvHeads * shape.headDim, -2, 2)
        let v = random.array(shape.batch * shape.keys * shape.kvHeads * shape.headDim)
        var out = [Float](repeating: .nan, count: q.count)
        var scratch = [Float](repeating: 0, count: AttentionKernel.scratchCount(queries: shape.queries, keys: shape.keys))
        AttentionKernel.forward(
            q: q, k: k, v: v, out: &out, batch: shape.batch, heads: shape.heads, kvHeads: shape.kvHeads,
            queries: shape.queries, keys: shape.keys, headDim: shape.headDim, causal: shape.causal,
            window: shape.window, scratch: &scratch)
        return (out, reference(shape, q: q, k: k, v: v))
    }

    static let shapes: [Shape] = [
        Shape(),  // causal prefill
        Shape(causal: false),  // bidirectional
        Shape(batch: 2, heads: 4, kvHeads: 2, queries: 13, keys: 13, headDim: 12),  // GQA, odd sizes
        Shape(heads: 8, kvHeads: 1, queries: 5, keys: 5, headDim: 8),  // multi-query
        Shape(heads: 4, kvHeads: 2, queries: 1, keys: 37, headDim: 16),  // decode step
        Shape(queries: 1, keys: 37, window: 8),  // decode with a sliding window
        Shape(batch: 2, heads: 8, kvHeads: 2, queries: 1, keys: 50, headDim: 16, window: 10),  // grouped decode
        Shape(heads: 6, kvHeads: 1, queries: 1, keys: 300, headDim: 72),  // decode over several key chunks
        Shape(heads: 4, kvHeads: 2, queries: 1, keys: 300, headDim: 13, window: 100),  // chunks and a window
        Shape(heads: 130, kvHeads: 130, queries: 1, keys: 5, headDim: 8),  // above maxDecodeHeads: per-head path
        Shape(queries: 40, keys: 40, window: 7),  // window smaller than keys
        Shape(queries: 9, keys: 30, headDim: 20),  // chunked prefill: queries are the last 9 positions
        Shape(queries: 150, keys: 150, headDim: 8),  // more than one query tile
        Shape(queries: 150, keys: 160, headDim: 8, window: 40),  // tiles with a window
        Shape(queries: 6, keys: 20, causal: false, window: 5),  // window without causality
    ]

    @Test(arguments: shapes)
    func matchesReference(shape: Shape) {
        let (actual, expected) = Self.run(shape, seed: UInt64(shape.queries * 131 + shape.keys))
        expectClose(actual, expected, tolerance: 2e-5, "\(shape)")
    }

    @Test func moreQueriesThanKeysGivesZeroRowsNotATrap() {
        // Invalid but reachable: queries before position 0 see no key, so their rows are 0.
        let shape = Shape(heads: 1, kvHeads: 1, queries: 4, keys: 2, headDim: 8)
        let (actual, expected) = Self.run(shape, seed: 5)
        #expect(actual.prefix(16).allSatisfy { $0 == 0 })
        expectClose(actual, expected, tolerance: 2e-5, "queries > keys")
    }

    @Test func softmaxIsStableForLargeScores() {
        // Scores around 1e4 would overflow a naive exp; a stable softmax is unaffected.
        var shape = Shape(heads: 1, kvHeads: 1, queries: 4, keys: 4, headDim: 8)
        shape.causal = false
        var random = SeededGenerator(seed: 9)
        let q = random.array(32).map { $0 * 300 }
        let k = random.array(32).map { $0 * 300 }
        let v = random.array(32)
        var out = [Float](repeating: 0, count: 32)
        var scratch = [Float](repeating: 0, count: AttentionKernel.scratchCount(queries: 4, keys: 4))
        AttentionKernel.forward(
            q: q, k: k, v: v, out: &out, batch: 1, heads: 1, kvHeads: 1, queries: 4, keys: 4, headDim: 8,
            causal: false, window: nil, scratch: &scratch)
        #expect(out.allSatisfy { $0.isFinite })
        expectClose(out, Self.reference(shape, q: q, k: k, v: v), tolerance: 1e-4, "large scores")
    }

    @Test func decodeOnlineSoftmaxIsStableAcrossChunks() {
        // Scores rising along the keys force the running maximum to move in every chunk.
        let keys = 200
        var shape = Shape(heads: 2, kvHeads: 1, queries: 1, keys: keys, headDim: 8)
        shape.causal = true
        var random = SeededGenerator(seed: 12)
        let q = [Float](repeating: 1, count: 16)
        let k = (0..<keys).flatMap { j in [Float](repeating: Float(j) * 0.5, count: 8) }
        let v = random.array(keys * 8)
        var out = [Float](repeating: 0, count: 16)
        var scratch = [Float](repeating: 0, count: AttentionKernel.scratchCount(queries: 1, keys: keys))
        AttentionKernel.forward(
            q: q, k: k, v: v, out: &out, batch: 1, heads: 2, kvHeads: 1, queries: 1, keys: keys, headDim: 8,
            causal: true, window: nil, scratch: &scratch)
        #expect(out.allSatisfy { $0.isFinite })
        expectClose(out, Self.reference(shape, q: q, k: k, v: v), tolerance: 1e-4, "rising scores")
    }

    @Test func flopCountFollowsTheConvention() {
        // Causal prefill of 4: keys attended 1 + 2 + 3 + 4 = 10.
        let prefill: Double = 4 * 2 * 3 * 10 * 8
        #expect(AttentionKernel.flops(batch: 2, heads: 3, queries: 4, keys: 4, headDim: 8, causal: true, window: nil) == prefill)
        // Window 2: 1 + 2 + 2 + 2 = 7.
        #expect(AttentionKernel.flops(batch: 1, heads: 1, queries: 4, keys: 4, headDim: 1, causal: true, window: 2) == 28)
        // Decode against 100 keys.
        #expect(AttentionKernel.flops(batch: 1, heads: 1, queries: 1, keys: 100, headDim: 1, causal: true, window: nil) == 400)
    }
}
