import Foundation

/// FLOPs and bytes of each op kind, forward pass. The one place these formulas live.
///
/// Conventions: a multiply-add is 2 FLOPs; `b` is the bytes per element of the workload dtype;
/// weights are read once per op; activations are read and written once (fused kernels).
public enum OpFormulas {
    public struct Cost: Sendable, Equatable {
        public var flops: Double
        public var bytes: Double
        public var formula: String
    }

    public static func cost(of kind: OpKind, elementBytes b: Double) -> Cost {
        switch kind {
        case let .gemm(m, n, k, count):
            // 2mnk FLOPs per GEMM; bytes = (mk + kn + mn) b (A, B read once, C written once).
            return Cost(flops: count * 2 * m * n * k,
                        bytes: count * (m * k + k * n + m * n) * b,
                        formula: "gemm: flops = count*2*m*n*k; bytes = count*(m*k + k*n + m*n)*b")

        case let .attention(batch, heads, kvHeads, queries, keys, headDim, causal, window):
            // QK^T and PV: 2 GEMMs of 2*Lq*Lk_eff*d each per head (FlashAttention paper's count, softmax excluded).
            let attended = attendedKeys(queries: queries, keys: keys, causal: causal, window: window)
            let d = Double(headDim)
            let flops = 4 * batch * Double(heads) * attended * d
            // Q and O (B Lq H d each), K and V (B Lk Hkv d each) read once.
            let keysRead = window.map { min(keys, Double($0) + queries) } ?? keys
            let bytes = (2 * batch * queries * Double(heads) * d + 2 * batch * keysRead * Double(kvHeads) * d) * b
            return Cost(flops: flops, bytes: bytes,
                        formula: "attention: flops = 4*B*H*sum_q(keys attended by q)*d; bytes = (2*B*Lq*H*d + 2*B*Lk*Hkv*d)*b")

        case let .selectiveScan(batch, length, dInner, dState, decodeState):
            // 9*B*L*D*N (state-spaces/mamba issue 110) + B*L*D each for the D skip term and the z gate.
            let bl = batch * length, dd = Double(dInner), n = Double(dState)
            let flops = 9 * bl * dd * n + 2 * bl * dd
            // Fused kernel: reads u, delta, z (B,L,D), B and C (B,L,N), A (D,N); writes y (B,L,D).
            var bytes = (4 * bl * dd + 2 * bl * n + dd * n) * b
            // Decode: the fp32 state (B, D, N) is read and written once per step.
            if decodeState { bytes += 2 * batch * dd * n * 4 }
            return Cost(flops: flops, bytes: bytes,
                        formula: "selective_scan: flops = 9*B*L*D*N + 2*B*L*D; bytes = (4*B*L*D + 2*B*L*N + D*N)*b [+ 2*B*D*N*4 state in decode]")

        case let .ssd(batch, length, heads, headDim, dState, chunk, decodeState):
            // Mamba-2 SSD (arXiv 2405.21060 sec. 6), per token per head: intra-chunk C B^T and its
            // product with X: 2*Q*(N + P); chunk states and their output: 4*N*P. Decode: 6*N*P.
            let h = Double(heads), p = Double(headDim), n = Double(dState), q = Double(min(chunk, max(1, Int(length.rounded(.up)))))
            let perToken = decodeState ? 6 * n * p : 2 * q * (n + p) + 4 * n * p
            let flops = batch * length * h * perToken
            var bytes = (3 * batch * length * h * p + 2 * batch * length * n) * b
            if decodeState { bytes += 2 * batch * h * p * n * 4 }
            return Cost(flops: flops, bytes: bytes,
                        formula: "ssd: flops = B*L*H*(2*Q*(N+P) + 4*N*P) [decode: 6*N*P]; bytes = (3*B*L*H*P + 2*B*L*N)*b")

        case let .conv1d(tokens, channels, width):
            let c = Double(channels), w = Double(width)
            return Cost(flops: 2 * tokens * c * w, bytes: (2 * tokens * c + c * w) * b,
                        formula: "conv1d: flops = 2*T*C*W; bytes = (2*T*C + C*W)*b")

        case let .elementwise(elements, flopsPerElement, reads, writes):
            return Cost(flops: elements * flopsPerElement, bytes: elements * (reads + writes) * b,
                        formula: "elementwise: flops = n*f; bytes = n*(reads + writes)*b")

        case let .router(tokens, dIn, outputs):
            // Logits GEMM 2*T*d*E, then softmax + top-k about 5 FLOPs per logit.
            let e = Double(outputs), d = Double(dIn)
            return Cost(flops: tokens * (2 * d * e + 5 * e), bytes: (tokens * d + d * e + tokens * e) * b,
                        formula: "router: flops = T*(2*d*E + 5*E); bytes = (T*d + d*E + T*E)*b")

        case let .treeDescent(tokens, dIn, depth, nodeWidth):
            // Each level: one node of nodeWidth neurons per token (2*d*w) + a decision; the nodes of a level
            // are read from memory once per level (2^level nodes, but only touched ones matter: at most T).
            let d = Double(dIn), w = Double(nodeWidth)
            var nodesRead = 0.0
            for level in 0..<depth { nodesRead += min(Double(1 << level), tokens) }
            return Cost(flops: tokens * Double(depth) * (2 * d * w + 2),
                        bytes: (tokens * d + nodesRead * d * w) * b,
                        formula: "tree_descent: flops = T*depth*(2*d*w + 2); bytes = (T*d + sum_level min(2^level, T)*d*w)*b")

        case let .gatherScatter(rows, width):
            let n = rows * Double(width)
            return Cost(flops: 0, bytes: 2 * n * b, formula: "gather_scatter: bytes = 2*rows*width*b")

        case let .transfer(bytes, _):
            return Cost(flops: 0, bytes: bytes, formula: "transfer: bytes over the link")
        }
    }

    /// Sum over queries of the number of keys each attends to.
    ///
    /// Queries are the last `queries` positions of a `keys`-long context (offset o = keys - queries).
    /// Causal: query j (1-based) sees min(o + j, window) keys. Non-causal: min(keys, window) each.
    public static func attendedKeys(queries: Double, keys: Double, causal: Bool, window: Int?) -> Double {
        guard queries > 0, keys > 0 else { return 0 }
        let w = window.map(Double.init) ?? .infinity
        guard causal else { return queries * min(keys, w) }
        let offset = max(0, keys - queries)
        // Positions p = o+1 ... o+Lq; sum of min(p, w).
        let first = offset + 1, last = offset + queries
        if w >= last { return queries * (first + last) / 2 }
        if w <= first { return queries * w }
        // p from first to w counts p; beyond w counts w.
        let below = (w - first + 1) * (first + w) / 2
        return below + (last - w) * w
    }
}
