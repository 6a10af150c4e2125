import Foundation

/// FLOPs and bytes of each op kind, forward pass. The one place these formulas live.
///
/// Conventions: a multiply-add is 2 FLOPs; `b` is the bytes per element of the workload dtype;
/// weights are read once per op; activations are read and written once (fused kernels). `matrixFlops`
/// is the part that runs on matrix units (tensor cores) at the dtype's matrix peak; the rest runs on
/// vector units. `launches` is how many kernels the op is (each pays the launch overhead).
public enum OpFormulas {
    public struct Cost: Sendable, Equatable {
        public var flops: Double
        public var matrixFlops: Double
        public var bytes: Double
        public var launches: Double
        public var formula: String
        /// Of `bytes`: the traffic to data that persists from step to step (``persistentBytes(of:elementBytes:)``).
        public var persistentBytes: Double = 0
    }

    /// Block size of the causal block skipping in the SSD scan kernel (BLOCK_SIZE_M of
    /// `_chunk_scan_fwd_kernel`, state-spaces/mamba mamba_ssm/ops/triton/ssd_chunk_scan.py autotune configs: 64).
    static let ssdBlock = 64.0

    public static func cost(of kind: OpKind, elementBytes b: Double) -> Cost {
        var c = terms(of: kind, elementBytes: b)
        c.persistentBytes = min(c.bytes, persistentBytes(of: kind, elementBytes: b))
        return c
    }

    /// The part of an op's bytes that goes to data living from one step to the next, read (or read and
    /// written) once per step by this op and by no other: GEMM weights (count·k·n·b), the cached keys and
    /// values of attention (2·B·(keys read − queries)·Hkv·d·b: decode's KV cache, not the keys this step
    /// computes), and the fp32 SSM state of a decode step (read and written: 2·B·D·N·4, SSD 2·B·H·P·N·4).
    /// With a profile that has a cache (`memory.cache_bytes`), these bytes come from the cache when the
    /// model's whole persistent footprint fits in it, from memory otherwise; the op's other bytes
    /// (activations) come from the cache when they fit in it (``CostModel``).
    public static func persistentBytes(of kind: OpKind, elementBytes b: Double) -> Double {
        switch kind {
        case let .gemm(_, n, k, count):
            return count * k * n * b
        case let .attention(batch, _, kvHeads, queries, keys, headDim, _, window):
            let keysRead = window.map { min(keys, Double($0) + queries) } ?? keys
            return 2 * batch * max(0, keysRead - queries) * Double(kvHeads) * Double(headDim) * b
        case let .selectiveScan(batch, _, dInner, dState, decodeState):
            return decodeState ? 2 * batch * Double(dInner) * Double(dState) * 4 : 0
        case let .ssd(batch, _, heads, headDim, dState, _, _, decodeState):
            return decodeState ? 2 * batch * Double(heads * headDim) * Double(dState) * 4 : 0
        case .conv1d, .elementwise, .router, .treeDescent, .gatherScatter, .transfer:
            return 0
        }
    }

    static func terms(of kind: OpKind, elementBytes b: Double) -> Cost {
        switch kind {
        case let .gemm(m, n, k, count):
            // 2mnk FLOPs per GEMM; bytes = (mk + kn + mn) b (A, B read once, C written once).
            let f = count * 2 * m * n * k
            return Cost(flops: f, matrixFlops: f, bytes: count * (m * k + k * n + m * n) * b, launches: 1,
                        formula: "gemm: flops = count*2*m*n*k; bytes = count*(m*k + k*n + m*n)*b")

        case let .attention(batch, heads, kvHeads, queries, keys, headDim, causal, window):
            // QK^T and PV: 2 GEMMs of 2*Lq*Lk_eff*d each per head (FlashAttention paper's count, softmax excluded).
            let attended = attendedKeys(queries: queries, keys: keys, causal: causal, window: window)
            let d = Double(headDim)
            let flops = 4 * batch * Double(heads) * attended * d
            // Q and O (B Lq H d each), K and V (B Lk Hkv d each) read once.
            let keysRead = window.map { min(keys, Double($0) + queries) } ?? keys
            let bytes = (2 * batch * queries * Double(heads) * d + 2 * batch * keysRead * Double(kvHeads) * d) * b
            return Cost(flops: flops, matrixFlops: flops, bytes: bytes, launches: 1,
                        formula: "attention: flops = 4*B*H*sum_q(keys attended by q)*d; bytes = (2*B*Lq*H*d + 2*B*Lk*Hkv*d)*b")

        case let .selectiveScan(batch, length, dInner, dState, decodeState):
            // 9*B*L*D*N (state-spaces/mamba issue 110) + B*L*D each for the D skip term and the z gate.
            let bl = batch * length, dd = Double(dInner), n = Double(dState)
            let flops = 9 * bl * dd * n + 2 * bl * dd
            // Fused kernel: reads u, delta, z (B,L,D), B and C (B,L,N), A (D,N); writes y (B,L,D).
            var bytes = (4 * bl * dd + 2 * bl * n + dd * n) * b
            // Decode: the fp32 state (B, D, N) is read and written once per step.
            if decodeState { bytes += 2 * batch * dd * n * 4 }
            return Cost(flops: flops, matrixFlops: 0, bytes: bytes, launches: 1,
                        formula: "selective_scan: flops = 9*B*L*D*N + 2*B*L*D; bytes = (4*B*L*D + 2*B*L*N + D*N)*b [+ 2*B*D*N*4 state in decode]")

        case let .ssd(batch, length, heads, headDim, dState, groups, chunk, decodeState):
            return ssdCost(batch: batch, length: length, heads: Double(heads), headDim: Double(headDim), dState: Double(dState),
                           groups: Double(groups), chunk: chunk, decode: decodeState, b: b)

        case let .conv1d(tokens, channels, width):
            let c = Double(channels), w = Double(width)
            return Cost(flops: 2 * tokens * c * w, matrixFlops: 0, bytes: (2 * tokens * c + c * w) * b, launches: 1,
                        formula: "conv1d: flops = 2*T*C*W; bytes = (2*T*C + C*W)*b")

        case let .elementwise(elements, flopsPerElement, reads, writes):
            return Cost(flops: elements * flopsPerElement, matrixFlops: 0, bytes: elements * (reads + writes) * b, launches: 1,
                        formula: "elementwise: flops = n*f; bytes = n*(reads + writes)*b")

        case let .router(tokens, dIn, outputs):
            // Logits GEMM 2*T*d*E on the matrix units, then softmax + top-k about 5 FLOPs per logit.
            let e = Double(outputs), d = Double(dIn)
            return Cost(flops: tokens * (2 * d * e + 5 * e), matrixFlops: tokens * 2 * d * e,
                        bytes: (tokens * d + d * e + tokens * e) * b, launches: 1,
                        formula: "router: flops = T*(2*d*E + 5*E); bytes = (T*d + d*E + T*E)*b")

        case let .treeDescent(tokens, dIn, levels, nodeWidth, outputWidth):
            // Each level: one node of nodeWidth neurons per token: 2*d*w for the decision (+2), and when
            // nodes have output weights (UltraFastBERT) GELU (8) and 2*w*d_out to accumulate the output.
            // Weights of the nodes that some token visits are read once per level: with T tokens spread
            // uniformly over the 2^l nodes of level l, 2^l (1 - (1 - 2^-l)^T) of them.
            let d = Double(dIn), w = Double(nodeWidth), out = Double(outputWidth)
            var nodesRead = 0.0
            for level in 0..<levels {
                let nodes = pow(2, Double(level))
                nodesRead += nodes * (1 - pow(1 - 1 / nodes, tokens))
            }
            let perNode = 2 * d * w + 2 + (out > 0 ? 8 * w + 2 * w * out : 0)
            return Cost(flops: tokens * Double(levels) * perNode, matrixFlops: 0,
                        bytes: (tokens * (d + out) + nodesRead * w * (d + out)) * b, launches: 1,
                        formula: "tree_descent: flops = T*levels*(2*d*w + 2 [+ 8*w + 2*w*d_out]); bytes = (T*(d + d_out) + sum_l 2^l(1-(1-2^-l)^T)*w*(d + d_out))*b")

        case let .gatherScatter(rows, width):
            let n = rows * Double(width)
            return Cost(flops: 0, matrixFlops: 0, bytes: 2 * n * b, launches: 1, formula: "gather_scatter: bytes = 2*rows*width*b")

        case let .transfer(bytes, pattern):
            switch pattern {
            case .pointToPoint:
                return Cost(flops: 0, matrixFlops: 0, bytes: bytes, launches: 1, formula: "transfer: bytes to one peer over the link")
            case let .allToAll(devices):
                return Cost(flops: 0, matrixFlops: 0, bytes: bytes, launches: 1,
                            formula: "all_to_all over \(devices) devices: bytes = the busiest device's rows leaving (and arriving at) it")
            }
        }
    }

    /// Mamba-2 SSD, the chunked kernels of state-spaces/mamba (mamba_ssm/ops/triton/ssd_combined.py,
    /// `_mamba_chunk_scan_combined_fwd`: five kernels), with Q the chunk, H heads of P channels, N the
    /// state, G groups of B and C:
    ///
    /// - matrix units (`tl.dot`): chunk states x^T·B, 2·B·L·H·P·N (ssd_chunk_state.py); C·B^T once per
    ///   *group* over the full Q x Q block, 2·B·L·Q·G·N (ssd_bmm.py, output (b, c, g, Q, Q)); in the scan,
    ///   C·states 2·B·L·H·N·P and (CB ∘ decay)·x with causal block skipping, B·L·H·Q·P·(1 + 64/Q)
    ///   (ssd_chunk_scan.py, K_MAX stops at the diagonal block);
    /// - vector units: the dt cumsum (~10 per head and token), the decay scaling of B per p-tile (N·⌈P/64⌉),
    ///   state passing 2·P·N/Q, the decay mask of CB per p-tile (~5 per element: 2.5·Q·(1 + 64/Q)·⌈P/64⌉),
    ///   and the D skip (2·P), per head and token (Mamba2's default rmsnorm gates z in its own gated norm, so
    ///   the scan gets z = None).
    /// - bytes: x read twice (chunk state, chunk scan) and out written (3·B·L·H·P); B and C read twice each
    ///   (4·B·L·G·N); dt read (B·L·H); dt and its cumsum written in fp32 and each read twice (6·B·L·H·4);
    ///   CB (fp32, B·L·Q·G) written and read once; the chunk states (B·L/Q·H·P·N) written in fp32 by
    ///   chunk_state, read in fp32 and written in the input dtype by state passing (`out_dtype=C.dtype`,
    ///   ssd_combined.py), read again by the scan: B·L/Q·H·P·N·(8 + 2b). Q = min(chunk, L).
    ///
    /// Decode (`selective_state_update`, mamba_ssm/ops/triton/selective_state_update.py): per head
    /// state·dA + dB·x and C·state, ~5·P·N + 7·P FLOPs on vector units, the fp32 state read and written.
    static func ssdCost(batch: Double, length: Double, heads h: Double, headDim p: Double, dState n: Double, groups g: Double,
                        chunk: Int, decode: Bool, b: Double) -> Cost {
        let tokens = batch * length
        if decode {
            let vector = tokens * h * (5 * p * n + 7 * p)
            let bytes = (3 * tokens * h * p + 2 * tokens * g * n) * b + 2 * batch * h * p * n * 4
            return Cost(flops: vector, matrixFlops: 0, bytes: bytes, launches: 1,
                        formula: "ssd decode: flops = B*H*(5*P*N + 7*P) (vector); bytes = (3*B*H*P + 2*B*G*N)*b + 2*B*H*P*N*4 state")
        }
        let q = Double(min(chunk, max(1, Int(min(length, 1e9).rounded(.up)))))
        let tiles = (p / ssdBlock).rounded(.up)
        // Causal block skipping keeps (1 + BM/Q)/2 of the Q x Q square; a chunk within one block keeps all of it.
        let skip = min(2, 1 + ssdBlock / q)
        let matrix = tokens * (4 * h * p * n + 2 * q * g * n + h * q * p * skip)
        let vector = tokens * h * (10 + n * tiles + 2 * p * n / q + 2.5 * q * skip * tiles + 2 * p)
        let bytes = (3 * tokens * h * p + 4 * tokens * g * n + tokens * h) * b + 6 * tokens * h * 4 + 2 * tokens * q * g * 4
            + tokens / q * h * p * n * (8 + 2 * b)
        return Cost(flops: matrix + vector, matrixFlops: matrix, bytes: bytes, launches: 5,
                    formula: "ssd: matrix = B*L*(4*H*P*N + 2*Q*G*N + H*Q*P*s); vector = B*L*H*(10 + N*ceil(P/64) + 2*P*N/Q + 2.5*Q*s*ceil(P/64) + 2*P), s = min(2, 1+64/Q); bytes = (3*B*L*H*P + 4*B*L*G*N + B*L*H)*b + 6*B*L*H*4 + 2*B*L*Q*G*4 + B*L/Q*H*P*N*(8 + 2*b)")
    }

    /// Activation bytes the backward pass needs from this op's forward (training): its non-weight inputs,
    /// and the statistics kernels save.
    ///
    /// GEMM: its input. Attention (FlashAttention's `save_for_backward`: q, k, v, out, softmax_lse; the output
    /// is the o-projection's input, counted there): Q, K, V and the fp32 log-sum-exp. Selective scan
    /// (mamba_ssm selective_scan_interface.py): u, delta, z, B, C, and the fp32 scan state at each
    /// 2048-token chunk boundary (B·D·⌈L/2048⌉·2N floats). SSD (`MambaChunkScanCombinedFn`): x, z, out, dt,
    /// B, C and the fp32 dA cumsum. Conv: its input. Norms, activations and gates: their inputs (norms also
    /// the fp32 1/rms per row); adds and means: nothing. Routers: input and logits. Gathers and transfers: nothing.
    public static func savedBytes(of kind: OpKind, role: OpRole, elementBytes b: Double, rowWidth: Double) -> Double {
        switch kind {
        case let .gemm(m, _, k, count):
            return count * m * k * b
        case let .attention(batch, heads, kvHeads, queries, keys, headDim, _, window):
            let d = Double(headDim)
            let keysKept = window.map { min(keys, Double($0) + queries) } ?? keys
            return (batch * queries * Double(heads) * d + 2 * batch * keysKept * Double(kvHeads) * d) * b
                + batch * Double(heads) * queries * 4
        case let .selectiveScan(batch, length, dInner, dState, _):
            let bl = batch * length, dd = Double(dInner), n = Double(dState)
            let chunks = (length / 2048).rounded(.up)
            return (3 * bl * dd + 2 * bl * n) * b + batch * dd * chunks * 2 * n * 4
        case let .ssd(batch, length, heads, headDim, dState, groups, _, _):
            let tokens = batch * length, h = Double(heads), p = Double(headDim)
            return (3 * tokens * h * p + tokens * h + 2 * tokens * Double(groups) * Double(dState)) * b + tokens * h * 4
        case let .conv1d(tokens, channels, _):
            return tokens * Double(channels) * b
        case let .elementwise(elements, _, reads, _):
            switch role {
            case .residual, .mean, .optimizer: return 0
            case .rmsNorm, .gatedNorm: return elements * reads * b + elements / max(1, rowWidth) * 4
            default: return elements * reads * b
            }
        case let .router(tokens, dIn, outputs):
            return tokens * Double(dIn + outputs) * b
        case let .treeDescent(tokens, dIn, levels, nodeWidth, outputWidth):
            return tokens * Double(dIn) * b + (outputWidth > 0 ? tokens * Double(levels * nodeWidth) * b : 0)
        case .gatherScatter, .transfer:
            return 0
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
